/**
 * Downloads one file and hands its bytes on in order, storing them in the cache as they come when asked to (and
 * resuming from the chunks a broken download left there): the first request
 * asks for the first chunk not yet stored; a 206 gives the size and proves Range support, and the remaining chunks
 * are fetched `concurrency` at a time ahead of the reader (http-range.ts), each hashed and stored as it completes; a
 * 200 (Range ignored) is read as one stream and chunked the same way. The whole-file sha256 is checked when known; the
 * complete-file record is written last, so a half-written file never counts as complete.
 */
import { ModelIntegrityError, StorageQuotaError } from '../errors.ts';
import { Sha256, sha256Hex } from '../cache/sha256.ts';
import * as store from '../cache/store.ts';
import { chunkCount, chunkRange } from './source.ts';
import {
  checkRangeResponse, doFetch, etagOf, fetchChunk, fetchError, httpError, parseContentRange, readExactly, sha256FromHeaders, wholeBodyChunks,
  type Remote,
} from './http-range.ts';
import type { FetchFileOptions } from './fetch-options.ts';

/** Chunk writes to IndexedDB allowed in flight before the download waits for them (bounds memory). */
const MAX_PENDING_WRITES = 4;

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

let persistAsked = false;
async function checkQuota(url: string, needed: number): Promise<void> {
  const storage = typeof navigator !== 'undefined' ? navigator.storage : undefined;
  if (!storage?.estimate) return;
  if (!persistAsked && storage.persist) {
    persistAsked = true;
    // Persistent storage is not evicted under pressure; the browser may say no, and the cache works either way.
    storage.persist().catch(() => {});
  }
  const { quota, usage } = await storage.estimate();
  if (quota === undefined || usage === undefined) return;
  const available = Math.max(0, quota - usage);
  if (needed > available) {
    throw new StorageQuotaError(
      `Caching the model file needs ${MiB(needed)}, but the browser allows this site only ${MiB(available)} more ` +
        `(quota ${MiB(quota)}, used ${MiB(usage)}) (${url}). Free space with cache.delete()/cache.clear(), ` +
        'or load with { cache: false } to stream the model without keeping it.',
      url, needed, available,
    );
  }
}

const isQuotaError = (e: unknown) => (e as Error)?.name === 'QuotaExceededError';

interface Download {
  size?: number;
  etag?: string;
  /** The sha256 the bytes are checked against (the caller's or the hub's). */
  sha256?: string;
  chunks: AsyncGenerator<Uint8Array>;
}

/**
 * Starts (or resumes) a download. The first request asks for the first chunk not yet stored; a 206 answer gives the
 * size and proves Range support, a 200 means the server sends the whole file in one response, read in order.
 */
export async function download(url: string, o: FetchFileOptions, useCache: boolean, restarted = false): Promise<Download> {
  const chunkBytes = o.chunkBytes;
  let partial = useCache ? await store.getPartial(url) : undefined;
  if (partial && partial.chunkBytes !== chunkBytes) {
    await store.deleteFile(url);
    partial = undefined;
  }
  const have = new Set(partial ? await store.storedChunkIndices(url) : []);
  let first = 0;
  while (have.has(first)) first++;
  const total = partial ? chunkCount(partial.size, chunkBytes) : Infinity;
  if (partial && first >= total) {
    // Every chunk is stored but the file was never marked complete (the tab closed at the last moment).
    return { size: partial.size, etag: partial.etag, sha256: o.sha256?.toLowerCase(), chunks: chunksFrom(url, { size: partial.size, etag: partial.etag, ranged: true }, have, undefined, first, o, useCache) };
  }
  const start = first * chunkBytes;
  const res = await doFetch(url, { headers: { Range: `bytes=${start}-${start + chunkBytes - 1}` }, signal: o.signal, cache: 'no-store' });
  if (res.status === 416 && partial && !restarted) {
    // The file on the server is shorter than the one we began: start over.
    void res.body?.cancel();
    await store.deleteFile(url);
    return download(url, o, useCache, true);
  }
  if (res.status !== 200 && res.status !== 206) {
    void res.body?.cancel();
    throw httpError(url, res);
  }
  const encoded = (res.headers.get('content-encoding') ?? 'identity') !== 'identity';
  let remote: Remote;
  if (res.status === 206) {
    const cr = parseContentRange(res.headers);
    if (!cr?.total) {
      void res.body?.cancel();
      throw fetchError(url, 'range', `The server's answer to a Range request has no usable Content-Range ("${res.headers.get('content-range')}")`,
        'The host mishandles Range requests; try another host or mirror.');
    }
    remote = { size: cr.total, etag: etagOf(res.headers), ranged: true, sha256: sha256FromHeaders(res.headers) };
  } else {
    const len = Number(res.headers.get('content-length'));
    remote = { size: Number.isFinite(len) && len > 0 && !encoded ? len : NaN, etag: etagOf(res.headers), ranged: false, sha256: sha256FromHeaders(res.headers) };
    have.clear(); // the whole body comes again from byte 0
  }
  if (partial && (partial.size !== remote.size || (partial.etag && remote.etag && partial.etag !== remote.etag))) {
    // Another version of the file: the stored chunks are useless.
    void res.body?.cancel();
    await store.deleteFile(url);
    if (restarted) throw fetchError(url, 'changed', 'The file keeps changing on the server during the download', 'Try again later.');
    return download(url, o, useCache, true);
  }
  let caching = useCache && Number.isFinite(remote.size);
  if (caching) {
    try {
      await checkQuota(url, remote.size - have.size * chunkBytes);
    } catch (e) {
      void res.body?.cancel();
      throw e;
    }
    if (!partial) {
      await store.putPartial({ url, size: remote.size, etag: remote.etag, chunkBytes, startedAt: Date.now() }).catch((e) => {
        if (!isQuotaError(e)) throw e;
        caching = false;
      });
    }
  }
  const size = Number.isFinite(remote.size) ? remote.size : undefined;
  return { size, etag: remote.etag, sha256: o.sha256?.toLowerCase() ?? remote.sha256, chunks: chunksFrom(url, remote, have, res, res.status === 206 ? first : 0, o, caching) };
}

/**
 * The file's bytes in order. Ranged: chunks come from the store (`have`) or from parallel Range requests, up to
 * `concurrency` ahead of the reader. Unranged: the one response body, cut in chunks as it arrives.
 */
async function* chunksFrom(
  url: string, remote: Remote, have: Set<number>, firstRes: Response | undefined, firstIndex: number, o: FetchFileOptions, caching: boolean,
): AsyncGenerator<Uint8Array> {
  const chunkBytes = o.chunkBytes;
  const expected = o.sha256?.toLowerCase() ?? remote.sha256;
  const hash = expected ? new Sha256() : undefined;
  const chunkSha: string[] = [];
  const writes: Promise<void>[] = [];
  let cacheFailed: unknown;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal?.addEventListener('abort', onAbort);
  // Each chunk is hashed and stored in the background, so the reader is not held up; a bounded number of writes may
  // be in flight, or a fast network would pile chunks up in memory waiting for IndexedDB.
  const keep = async (i: number, bytes: Uint8Array, knownSha?: string): Promise<void> => {
    hash?.update(bytes);
    if (!caching || cacheFailed) return;
    if (knownSha) {
      chunkSha[i] = knownSha;
      return;
    }
    writes.push(sha256Hex(bytes).then((sha) => {
      chunkSha[i] = sha;
      return store.putChunk(url, i, { bytes, sha });
    }).catch((e) => {
      cacheFailed ??= e;
    }));
    if (writes.length >= MAX_PENDING_WRITES) await writes[writes.length - MAX_PENDING_WRITES];
  };
  let finished = false;
  try {
    let size = remote.size;
    if (remote.ranged) {
      const n = chunkCount(size, chunkBytes);
      const inflight = new Map<number, Promise<Uint8Array>>();
      let firstUsed = false;
      const start = (i: number) => {
        if (inflight.has(i) || have.has(i)) return;
        let p: Promise<Uint8Array>;
        if (!firstUsed && firstRes && i === firstIndex) {
          firstUsed = true;
          const { start: s, end: e } = chunkRange(i, size, chunkBytes);
          p = (async () => {
            checkRangeResponse(url, firstRes, remote, s, e);
            return readExactly(url, firstRes, e - s, s, (k) => o.onBytes?.(k, 'network'));
          })();
        } else {
          p = fetchChunk(url, remote, i, chunkBytes, ac.signal, (k) => o.onBytes?.(k, 'network'));
        }
        p.catch(() => {}); // awaited in order below; avoid unhandled rejections for ones never reached
        inflight.set(i, p);
      };
      for (let i = 0; i < n; i++) {
        // Keep `concurrency` downloads going ahead of the reader.
        for (let j = i, started = 0; j < n && started < o.concurrency; j++) {
          if (have.has(j)) continue;
          start(j);
          started++;
        }
        let bytes: Uint8Array | undefined;
        let knownSha: string | undefined;
        if (have.has(i)) {
          const c = await store.getChunk(url, i);
          const { start: s, end: e } = chunkRange(i, size, chunkBytes);
          if (c && c.bytes.byteLength === e - s && (await sha256Hex(c.bytes)) === c.sha) {
            o.onBytes?.(c.bytes.byteLength, 'cache');
            bytes = c.bytes;
            knownSha = c.sha;
          } else {
            have.delete(i); // corrupt: fetch it again
            start(i);
          }
        }
        if (!bytes) {
          bytes = await inflight.get(i)!;
          inflight.delete(i);
        }
        await keep(i, bytes, knownSha);
        yield bytes;
      }
    } else {
      // One response with the whole file, from byte 0.
      const chunks = wholeBodyChunks(url, firstRes!, size, chunkBytes, (n) => o.onBytes?.(n, 'network'));
      for (let i = 0; ; i++) {
        const r = await chunks.next();
        if (r.done) {
          size = r.value;
          break;
        }
        await keep(i, r.value);
        yield r.value;
      }
    }
    if (hash && expected) {
      const actual = hash.hex();
      if (actual !== expected) {
        await Promise.allSettled(writes);
        await store.deleteFile(url).catch(() => {});
        caching = false;
        throw new ModelIntegrityError(
          `The model file's sha256 is ${actual}, but ${o.sha256 ? 'the expected' : "the server's (x-linked-etag)"} is ${expected}: the bytes are corrupt ` +
            `(${url}). The cached copy has been dropped; load again, and if this repeats, the file or the expected hash is wrong.`,
          url, expected, actual,
        );
      }
    }
    await Promise.all(writes);
    if (caching && cacheFailed === undefined) {
      await store.completeFile({ url, size, etag: remote.etag, chunkBytes, chunkSha, sha256: expected, createdAt: Date.now() }).catch((e) => {
        cacheFailed = e;
      });
    }
    if (cacheFailed !== undefined) {
      // Decision: a cache that fails to write (quota reached mid-download) does not fail the load; the model came from
      // the network anyway. The partial entry is dropped so that it cannot block or confuse the next load.
      await store.deleteFile(url).catch(() => {});
      console.warn(`llmo: could not cache ${url} (${(cacheFailed as Error)?.name}: ${(cacheFailed as Error)?.message}); it will be downloaded again next time.`);
    }
    finished = true;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      ac.abort();
      if (firstRes && !firstRes.bodyUsed) void firstRes.body?.cancel().catch(() => {});
    }
    await Promise.allSettled(writes);
  }
}
