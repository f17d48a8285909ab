/**
 * A file the cache holds complete, read back chunk by chunk: each chunk checked against its stored sha256 (read ahead
 * while the caller uploads the one before), a bad or evicted one fetched again alone with a Range request and stored
 * back, and the whole file checked against a sha256 the caller gives that the cache did not know yet.
 */
import { ModelFetchError, ModelIntegrityError } from '../errors.ts';
import { Sha256, sha256Hex } from '../cache/sha256.ts';
import * as store from '../cache/store.ts';
import { chunkCount } from './source.ts';
import { fetchChunk, fetchError, type Remote } from './http-range.ts';
import type { FetchFileOptions } from './fetch-options.ts';

/** Cached chunks read (and checked) ahead of the reader. */
const CACHE_READ_AHEAD = 2;

/** A complete cached file, chunk by chunk; a missing or corrupt chunk is fetched again with a Range request. */
export async function* readCached(url: string, rec: store.FileRecord, o: FetchFileOptions): AsyncGenerator<Uint8Array> {
  const n = chunkCount(rec.size, rec.chunkBytes);
  // Cached before any hash was known: check the caller's hash now, over the bytes as they are read.
  const expected = o.sha256 && !rec.sha256 ? o.sha256.toLowerCase() : undefined;
  const hash = expected ? new Sha256() : undefined;
  // Read and check the next chunks while the caller uploads this one.
  const reader = store.checkedChunkReader(rec, CACHE_READ_AHEAD - 1);
  for (let i = 0; i < n; i++) {
    const cached = await reader.take(i);
    let bytes: Uint8Array;
    if (cached) {
      o.onBytes?.(cached.byteLength, 'cache');
      bytes = cached;
    } else {
      // Corrupt or evicted: fetch this chunk again (the only network use of a cached file), check it, store it back.
      const remote: Remote = { size: rec.size, etag: rec.etag, ranged: true };
      try {
        bytes = await fetchChunk(url, remote, i, rec.chunkBytes, o.signal, (n) => o.onBytes?.(n, 'network'));
      } catch (e) {
        // Offline: keep the entry (its other chunks are good; the next load online repairs it). Anything else (the file
        // changed, the host stopped honouring ranges, HTTP errors) cannot be repaired chunk by chunk: drop the file so
        // the next load starts clean instead of failing the same way forever.
        if (!(e instanceof ModelFetchError && e.reason === 'network')) await store.deleteFile(url).catch(() => {});
        throw e;
      }
      const sha = await sha256Hex(bytes);
      if (sha !== rec.chunkSha[i]) {
        await store.deleteFile(url);
        throw fetchError(url, 'changed', `Chunk ${i} of the cached model file was corrupt, and the server now sends different bytes for it`,
          'The file changed on the server; the cached copy has been dropped, load again to download the new version.');
      }
      await store.putChunk(url, i, { bytes, sha }).catch(() => {});
    }
    hash?.update(bytes);
    yield bytes;
  }
  if (hash && expected) {
    const actual = hash.hex();
    if (actual !== expected) {
      await store.deleteFile(url);
      throw new ModelIntegrityError(
        `The cached model file's sha256 is ${actual}, but the expected is ${expected} (${url}). The cached copy has been ` +
          'dropped; load again to download it, and if this repeats, the file or the expected hash is wrong.',
        url, expected, actual,
      );
    }
    await store.completeFile({ ...rec, sha256: actual }).catch(() => {});
  }
}
