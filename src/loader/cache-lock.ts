/**
 * The Web Lock that keeps two tabs (or workers) of an origin from downloading or writing the same cache entry at once:
 * fetch-file.ts holds it on a file's URL while it reads or writes that file, quantized-cache.ts on a quantized
 * entry's key for a whole load. The second comes in after the first has finished and finds its work in the cache.
 */
import { AbortError } from '../errors.ts';
import { isAbort } from './http-range.ts';

/**
 * Holds an exclusive Web Lock on this cache key (a URL, or a quantized entry's `<url>#llmo-quantize=…`) until
 * `release` is called; shared by every tab and worker of the origin. A no-op where Web Locks are missing.
 */
export async function lockCacheKey(url: string, signal?: AbortSignal): Promise<() => void> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return () => {};
  return new Promise((resolve, reject) => {
    locks.request(`llmo-cache:${url}`, { signal }, () => new Promise<void>((release) => resolve(release))).catch((e) =>
      reject(isAbort(e) ? new AbortError(`Loading ${url} was aborted.`, { cause: e }) : e));
  });
}
