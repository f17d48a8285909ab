/**
 * One model file over HTTP: Range requests for a chunk (one retry on a broken connection), the checks that an answer
 * is the bytes asked for (status, Content-Range, ETag, length), exact-length body reads with progress, a whole-file
 * answer cut into chunks, and the typed ModelFetchError every failure becomes (naming the URL, the cause and what to
 * do). No cache here: fetch-file.ts decides what to fetch, download.ts and cached-file.ts store and read back.
 */
import { AbortError, ModelFetchError, type FetchFailure } from '../errors.ts';
import { chunkRange } from './source.ts';

/** What a download knows of the file on the server, from its first answer (or from a cached record). */
export interface Remote {
  size: number;
  etag?: string;
  /** The server honours Range requests. */
  ranged: boolean;
  sha256?: string;
}

export function fetchError(url: string, reason: FetchFailure, what: string, todo: string, extra: { status?: number; bytesReceived?: number; cause?: unknown } = {}) {
  return new ModelFetchError(`${what} (${url}). ${todo}`, url, extra.status, { reason, bytesReceived: extra.bytesReceived, cause: extra.cause });
}

export function httpError(url: string, res: Response): ModelFetchError {
  const s = res.status;
  const hint = s === 404 ? 'the file does not exist at that URL; check the repository, revision and file name'
    : s === 401 || s === 403 ? 'the host refused access; a gated or private repository needs a token, or the URL is wrong'
    : s === 416 ? 'the server could not serve the requested byte range; load again (the partial download has been dropped)'
    : s === 429 ? 'the host is rate-limiting requests; wait a minute and load again'
    : s >= 500 ? 'the server failed; try again later'
    : 'the request was refused';
  return fetchError(url, 'http', `Fetching the model file failed with HTTP ${s} ${res.statusText}`.trimEnd(), `Cause: ${hint}.`, { status: s });
}

export function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError';
}

/** An ETag that is a bare sha256 (the hub's `x-linked-etag` on LFS files, or a server that uses content hashes). */
export function sha256FromHeaders(h: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = h.get(name)?.replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

export const etagOf = (h: Headers) => h.get('etag') ?? undefined;

export function parseContentRange(h: Headers): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h.get('content-range') ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) + 1, total: m[3] === '*' ? undefined : Number(m[3]) } : undefined;
}

export async function doFetch(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (isAbort(e)) throw new AbortError(`Loading ${url} was aborted.`, { cause: e });
    const range = new Headers(init.headers).get('range');
    throw fetchError(url, 'network', `Could not fetch ${range ? `${range.replace('=', ' ')} of ` : ''}the model file: ${(e as Error)?.message ?? e}`,
      'Check the URL and the network connection, and that the host allows cross-origin requests (CORS).', { cause: e });
  }
}

/**
 * The next piece of a response body; a broken connection becomes a typed error saying how far it got (`got` bytes
 * of the file; `of` the whole size when known) and `todo`.
 */
export async function readBody(url: string, reader: ReadableStreamDefaultReader<Uint8Array>, got: number, of: number, todo: string): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (e) {
    if (isAbort(e)) throw new AbortError(`Loading ${url} was aborted.`, { cause: e });
    throw fetchError(url, 'network',
      `The connection broke after ${got}${Number.isFinite(of) ? ` of ${of}` : ''} bytes of the model file (${(e as Error)?.message ?? e})`,
      todo, { bytesReceived: got, cause: e });
  }
}

/** Reads a response body into one buffer of exactly `len` bytes, reporting bytes as they arrive. */
export async function readExactly(url: string, res: Response, len: number, at: number, onBytes: (n: number) => void): Promise<Uint8Array> {
  const out = new Uint8Array(len);
  let got = 0;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const r = await readBody(url, reader, at + got, NaN, 'Check the connection and load again: the download resumes from the last complete chunk.');
      if (r.done) break;
      const v = r.value;
      if (got + v.byteLength > len) {
        throw fetchError(url, 'length', `The server sent more than the ${len} bytes it announced for bytes ${at}-${at + len - 1}`,
          'The server is misconfigured (a wrong Content-Length or Content-Range); try another host or mirror.', { bytesReceived: at + got });
      }
      out.set(v, got);
      got += v.byteLength;
      onBytes(v.byteLength);
    }
  } finally {
    reader.releaseLock();
  }
  if (got !== len) {
    throw fetchError(url, 'length', `The server sent ${got} of the ${len} bytes it announced for bytes ${at}-${at + len - 1} (the connection ended early)`,
      'Load again: the download resumes from the last complete chunk.', { bytesReceived: at + got });
  }
  return out;
}

/** One chunk by Range request (one retry on a broken connection); checks the status, range, ETag and length. */
export async function fetchChunk(
  url: string, remote: Remote, i: number, chunkBytes: number, signal: AbortSignal | undefined, onBytes: (n: number) => void,
): Promise<Uint8Array> {
  const { start, end } = chunkRange(i, remote.size, chunkBytes);
  let firstError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await doFetch(url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal, cache: 'no-store' });
      checkRangeResponse(url, res, remote, start, end);
      return await readExactly(url, res, end - start, start, onBytes);
    } catch (e) {
      // A broken connection is retried once; if the retry fails too, the first failure is the one that says most.
      if (firstError) throw firstError;
      if (!(e instanceof ModelFetchError && e.reason === 'network')) throw e;
      firstError = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export function checkRangeResponse(url: string, res: Response, remote: Remote, start: number, end: number): void {
  if (res.status === 200) {
    void res.body?.cancel();
    throw fetchError(url, 'range', `The server ignored the Range request for bytes ${start}-${end - 1} and sent the whole file`,
      'The host stopped honouring Range requests mid-download; load again, and if it repeats, use another host or mirror.', { status: 200 });
  }
  if (res.status !== 206) {
    void res.body?.cancel();
    throw httpError(url, res);
  }
  const cr = parseContentRange(res.headers);
  if (!cr || cr.start !== start || cr.end !== end || (cr.total !== undefined && cr.total !== remote.size)) {
    void res.body?.cancel();
    throw fetchError(url, cr?.total !== undefined && cr.total !== remote.size ? 'changed' : 'range',
      `The server answered the request for bytes ${start}-${end - 1} with Content-Range "${res.headers.get('content-range')}"`,
      'The file changed on the server or the host mishandles ranges; load again.');
  }
  const etag = etagOf(res.headers);
  if (remote.etag && etag && etag !== remote.etag) {
    void res.body?.cancel();
    throw fetchError(url, 'changed', `The file changed on the server during the download (ETag ${remote.etag} → ${etag})`,
      'Load again to download the new version from the start.');
  }
}

/**
 * An answer that ignored the Range request (200: the whole file from byte 0), cut into `chunkBytes` chunks as its
 * body arrives; `size` is the announced length (NaN: unknown), checked as bytes come and at the end. Returns the
 * bytes received.
 */
export async function* wholeBodyChunks(
  url: string, res: Response, size: number, chunkBytes: number, onBytes: (n: number) => void,
): AsyncGenerator<Uint8Array, number> {
  const reader = res.body!.getReader();
  let buf = new Uint8Array(chunkBytes);
  let fill = 0;
  let got = 0;
  for (;;) {
    const r = await readBody(url, reader, got, size, 'Check the connection and load again.');
    if (r.done) break;
    let v = r.value;
    got += v.byteLength;
    onBytes(v.byteLength);
    if (Number.isFinite(size) && got > size) {
      throw fetchError(url, 'length', `The server sent more than the ${size} bytes it announced`,
        'The server is misconfigured (a wrong Content-Length); try another host or mirror.', { bytesReceived: got });
    }
    while (v.byteLength) {
      const take = Math.min(v.byteLength, chunkBytes - fill);
      buf.set(v.subarray(0, take), fill);
      fill += take;
      v = v.subarray(take);
      if (fill === chunkBytes) {
        yield buf;
        buf = new Uint8Array(chunkBytes);
        fill = 0;
      }
    }
  }
  if (Number.isFinite(size) && got !== size) {
    throw fetchError(url, 'length', `The server sent ${got} of the ${size} bytes it announced (the connection ended early)`,
      'Load again.', { bytesReceived: got });
  }
  if (fill) yield buf.subarray(0, fill);
  return got;
}
