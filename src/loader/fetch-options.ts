/**
 * What a caller asks of one file's fetch (fetch-file.ts) and where its bytes came from; the cache and network halves
 * (cached-file.ts, download.ts) read the same options, so they live below all three.
 */
export type ByteOrigin = 'network' | 'cache';

export interface FetchFileOptions {
  /** Use the IndexedDB cache (read and write). */
  cache: boolean;
  /** With `cache`: store what is downloaded (default true); false reads a complete cached copy but keeps nothing new. */
  keep?: boolean;
  /** Expected sha256 (hex) of the whole file. */
  sha256?: string;
  chunkBytes: number;
  concurrency: number;
  signal?: AbortSignal;
  /** Called as bytes arrive (network) or are read (cache). */
  onBytes?: (n: number, from: ByteOrigin) => void;
}
