import { ModelFetchError, ModelFormatError, ModelIntegrityError, AbortError } from '../errors.ts';
import { isAbort } from './http-range.ts';

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
        if (isAbort(e)) throw new AbortError(`Loading ${this.name} was aborted.`, { cause: e });
        // A whole-file hash mismatch found at the end of the stream is not a broken download: it says so itself.
        if (e instanceof ModelIntegrityError) throw e;
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
    // The header parsers reject overlapping tensors, so this means a parser let a bad table through.
    if (offset < this.position) {
      throw new ModelFormatError(`${this.name}: data at byte ${offset} lies before byte ${this.position}, already read: the tensor table is corrupt.`);
    }
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

  /** Reads (and drops) whatever is left up to the end of the stream, so its end-of-file checks run. */
  async drain(): Promise<void> {
    while ((await this.fill(this.buffered + 1)) > 0) {
      this.copyOut(this.buffered, true, true);
      if (this.done) break;
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

/** Reads a header by growing the prefix until the parser has all it needs. */
export async function readHeader<H>(r: StreamReader, parse: (b: Uint8Array) => H | { needBytes: number }, name: string): Promise<H> {
  let want = 1 << 16;
  for (;;) {
    const have = await r.fill(want);
    const h = parse(r.peek(have));
    if (!('needBytes' in (h as object))) return h as H;
    const need = (h as { needBytes: number }).needBytes;
    if (have < want || need <= have) {
      throw new ModelFormatError(`${name} ends inside its header (${have} bytes): the file is truncated or not a model file.`);
    }
    want = Math.max(need, want * 2);
  }
}
