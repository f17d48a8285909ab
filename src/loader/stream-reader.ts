import { ModelFetchError, ModelFormatError, AbortError } from '../errors.ts';

/**
 * Sequential reader over a byte stream: the loader peeks at the header, then takes each tensor's bytes in file
 * order. Only the bytes not yet consumed are buffered, so memory stays at about one tensor.
 */
export class StreamReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;
  /** Absolute offset of the first buffered byte. */
  position = 0;

  constructor(
    private readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly name: string,
    private readonly onBytes: (n: number) => void = () => {},
  ) {}

  /** Buffers until at least `n` bytes are available or the stream ends; returns how many are buffered. */
  async fill(n: number): Promise<number> {
    while (this.buffered < n && !this.done) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.reader.read();
      } catch (e) {
        if ((e as Error)?.name === 'AbortError') throw new AbortError(`Loading ${this.name} was aborted.`, { cause: e });
        throw new ModelFetchError(
          `The download of ${this.name} broke off after ${this.position + this.buffered} bytes (${(e as Error)?.message ?? e}). ` +
            'Check the connection and load again.', this.name, undefined, { cause: e });
      }
      if (r.done) {
        this.done = true;
        break;
      }
      if (r.value.byteLength) {
        this.chunks.push(r.value);
        this.buffered += r.value.byteLength;
        this.onBytes(r.value.byteLength);
      }
    }
    return this.buffered;
  }

  /** A copy of the first `n` buffered bytes (fewer at end of stream), without consuming them. */
  peek(n: number): Uint8Array {
    return this.copyOut(Math.min(n, this.buffered), false);
  }

  /** Exactly `n` bytes, consumed; a truncated stream is a ModelFormatError naming both lengths. */
  async read(n: number): Promise<Uint8Array> {
    if ((await this.fill(n)) < n) {
      throw new ModelFormatError(
        `${this.name} ended at byte ${this.position + this.buffered}, but the header says data runs to byte ${this.position + n}: ` +
          'the file is truncated (an interrupted download or a wrong URL?).',
      );
    }
    return this.copyOut(n, true);
  }

  /** Skips forward to absolute `offset` (padding between tensors). */
  async skipTo(offset: number): Promise<void> {
    if (offset < this.position) throw new Error(`StreamReader cannot seek backwards (${offset} < ${this.position})`);
    let left = offset - this.position;
    while (left > 0) {
      if (this.buffered === 0 && (await this.fill(1)) === 0) {
        throw new ModelFormatError(`${this.name} ended at byte ${this.position}, before data at byte ${offset}: the file is truncated.`);
      }
      const take = Math.min(left, this.buffered);
      this.copyOut(take, true, true);
      left -= take;
    }
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  private copyOut(n: number, consume: boolean, discard = false): Uint8Array {
    const out = discard ? new Uint8Array(0) : new Uint8Array(n);
    let off = 0;
    let i = 0;
    while (off < n) {
      const c = this.chunks[i];
      const take = Math.min(c.byteLength, n - off);
      if (!discard) out.set(take === c.byteLength ? c : c.subarray(0, take), off);
      off += take;
      if (consume) {
        if (take === c.byteLength) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
      } else {
        i++;
      }
    }
    if (consume) {
      this.buffered -= n;
      this.position += n;
    }
    return out;
  }
}

/** What a model can be loaded from: a URL (any host, the Hugging Face hub included) or a picked File/Blob. */
export type ModelSource = string | URL | Blob;

export interface OpenedSource {
  name: string;
  /** Total bytes when the server or blob says; undefined for chunked responses without a length. */
  size?: number;
  stream: ReadableStream<Uint8Array>;
}

/** Opens a source for streaming; HTTP failures become ModelFetchError with the URL, status and what to do. */
export async function openSource(source: ModelSource, signal?: AbortSignal): Promise<OpenedSource> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as File).name ?? 'blob';
    return { name, size: source.size, stream: source.stream() };
  }
  const url = String(source);
  let res: Response;
  try {
    res = await fetch(url, { signal });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw new AbortError(`Loading ${url} was aborted.`, { cause: e });
    throw new ModelFetchError(
      `Could not fetch ${url}: ${(e as Error)?.message ?? e}. Check the URL, the network, and that the host allows ` +
        'cross-origin requests (CORS).', url, undefined, { cause: e });
  }
  if (!res.ok || !res.body) {
    const hint = res.status === 404 ? 'the file does not exist at that URL'
      : res.status === 401 || res.status === 403 ? 'the host refused access (a gated or private repo needs a token)'
      : 'the server failed';
    throw new ModelFetchError(`Fetching ${url} failed with HTTP ${res.status} ${res.statusText}: ${hint}.`, url, res.status);
  }
  const len = Number(res.headers.get('content-length'));
  // A compressed response's length is the compressed size: only trust it for identity encoding.
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  return { name: url, size: Number.isFinite(len) && len > 0 && !encoded ? len : undefined, stream: res.body };
}

/** Fetches a small JSON sidecar file (config.json, tokenizer.json) next to a model URL. */
export async function fetchJson(url: string, signal?: AbortSignal): Promise<unknown> {
  const opened = await openSource(url, signal);
  const text = await new Response(opened.stream).text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${url} is not valid JSON (${(e as Error).message}).`, { cause: e });
  }
}
