/**
 * One model file as a byte stream, from the IndexedDB cache where it is there and from the network where not. This
 * module decides which, under a Web Lock per URL (two tabs never download or write the same file at once: the second
 * waits and then reads the first one's cached copy), and hands the bytes on as a pull-driven stream:
 *  - a complete cached file is read back by cached-file.ts (every chunk checked against its sha256; a bad one fetched
 *    again alone);
 *  - anything else is downloaded by download.ts: fixed-size chunks, a few Range requests in parallel (http-range.ts),
 *    handed on in order, so memory holds at most `concurrency` chunks; each stored as it completes, the file record
 *    last, so a later load resumes from the chunks already there; the whole file's sha256 checked when known.
 * Failures are ModelFetchError / ModelIntegrityError / StorageQuotaError naming the URL, the cause and what to do.
 */
import * as store from '../cache/store.ts';
import { lockCacheKey } from './cache-lock.ts';
import { readCached } from './cached-file.ts';
import { download } from './download.ts';
import type { ByteOrigin, FetchFileOptions } from './fetch-options.ts';

export interface OpenedFile {
  name: string;
  size?: number;
  /** Where the file's bytes come from: all from the cache, or (partly) from the network. */
  origin: ByteOrigin;
  /** The file's ETag, and its sha256 when one is known (checked by the time the stream ends). */
  etag?: string;
  sha256?: string;
  stream: ReadableStream<Uint8Array>;
}

export const DEFAULT_CHUNK_BYTES = 4 << 20;
export const DEFAULT_CONCURRENCY = 3;

/** Set when IndexedDB cannot be opened (some private modes, disabled storage): loads then skip the cache. */
let cacheBroken = false;

/** Opens one URL as a stream, through the cache when `options.cache` and IndexedDB are there. */
export async function fetchFile(url: string, options: FetchFileOptions): Promise<OpenedFile> {
  let useCache = options.cache && store.cacheAvailable() && !cacheBroken;
  const release = useCache ? await lockCacheKey(url, options.signal) : () => {};
  try {
    if (useCache) {
      let rec: store.FileRecord | undefined;
      try {
        rec = await store.getFile(url);
      } catch (e) {
        // The model still loads, from the network; only the cache is lost.
        cacheBroken = true;
        useCache = false;
        console.warn(`llmo: IndexedDB is not usable here (${(e as Error)?.name}: ${(e as Error)?.message}); models will not be cached.`);
      }
      if (rec && options.sha256 && rec.sha256 && rec.sha256 !== options.sha256.toLowerCase()) {
        await store.deleteFile(url); // cached from another version of the file
      } else if (rec) {
        return { name: url, size: rec.size, origin: 'cache', etag: rec.etag, sha256: rec.sha256 ?? options.sha256?.toLowerCase(), stream: toStream(readCached(url, rec, options), release) };
      }
    }
    const gen = await download(url, options, useCache && options.keep !== false);
    return { name: url, size: gen.size, origin: 'network', etag: gen.etag, sha256: gen.sha256, stream: toStream(gen.chunks, release) };
  } catch (e) {
    release();
    throw e;
  }
}

/** A pull-driven stream over an async generator; the lock is released when it ends, fails or is cancelled. */
function toStream(gen: AsyncGenerator<Uint8Array>, release: () => void): ReadableStream<Uint8Array> {
  let released = false;
  const done = () => {
    if (!released) {
      released = true;
      release();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const r = await gen.next();
        if (r.done) {
          done();
          controller.close();
        } else {
          controller.enqueue(r.value);
        }
      } catch (e) {
        done();
        controller.error(e);
      }
    },
    async cancel() {
      try {
        await gen.return(undefined);
      } finally {
        done();
      }
    },
  }, { highWaterMark: 0 });
}
