/**
 * Opening the files a model is made of, each as one in-order byte stream with its bytes counted into the load's
 * progress: URLs through the cache (fetch-file.ts), Blobs and picked files as they are, weight files from the
 * quantized cache, and the small JSON files beside the weights. Also which weight files a model URL stands for.
 */
import { StreamReader } from './stream-reader.ts';
import { MissingModelFileError, ModelFetchError, ModelFormatError } from '../errors.ts';
import { siblingUrl, shardInfo, shardNames, splitGgufInfo, splitGgufUrls, type SourceRequest } from './source.ts';
import { fetchFile, DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY } from './fetch-file.ts';
import type { ProgressTracker } from './progress.ts';
import type { PickedFileSet } from './picked-files.ts';
import type { StoredQuantizedFile } from './quantized-cache.ts';

/** One opened file of the model, read in order. */
export interface Part {
  name: string;
  /** The (original) file's size, as its header is checked against. */
  size?: number;
  reader: StreamReader;
  etag?: string;
  sha256?: string;
  /** Read from the quantized cache: the original header, then the tensors as stored. */
  stored?: StoredQuantizedFile;
}

/**
 * Opens URLs (through the cache) and Blobs, counting their bytes into one progress tracker. With picked files, a
 * "URL" is a picked file's name and opens that File (never cached: it is local already).
 */
export class ModelFiles {
  readonly urls: string[] = [];
  private readonly parts: Part[] = [];
  constructor(
    private readonly req: SourceRequest,
    private readonly progress: ProgressTracker,
    private readonly signal?: AbortSignal,
    private readonly picked?: PickedFileSet,
  ) {}

  /** `keep: false`: a URL is read from the cache when complete there, but a download is not stored. */
  async open(src: string | Blob, sha256?: string, why?: string, keep = true): Promise<Part> {
    if (typeof src === 'string' && this.picked) src = this.picked.need(src, why);
    if (typeof src !== 'string') {
      const name = (src as File).name ?? 'blob';
      const i = this.progress.addFile(name, src.size);
      const part = { name, size: src.size, reader: new StreamReader(src.stream().getReader(), name, (n) => this.progress.add(i, n, 'network')) }; // phase 'download', as before
      this.parts.push(part);
      return part;
    }
    const i = this.progress.addFile(src);
    const f = await fetchFile(src, {
      cache: this.req.cache ?? true,
      keep,
      sha256,
      chunkBytes: this.req.chunkBytes ?? DEFAULT_CHUNK_BYTES,
      concurrency: this.req.concurrency ?? DEFAULT_CONCURRENCY,
      signal: this.signal,
      onBytes: (n, from) => this.progress.add(i, n, from),
    }).catch((e: unknown) => {
      this.progress.setTotal(i, 0); // an optional file that is absent must not leave the total unknown
      throw e;
    });
    this.progress.setTotal(i, f.size);
    this.urls.push(src);
    const part = { name: src, size: f.size, etag: f.etag, sha256: f.sha256, reader: new StreamReader(f.stream.getReader(), src) };
    this.parts.push(part);
    return part;
  }

  /** A weight file from the quantized cache (its bytes count as read from the cache). */
  openStored(s: StoredQuantizedFile): Part {
    const i = this.progress.addFile(s.record.url, s.record.size);
    const reader = new StreamReader(s.stream.getReader(), s.record.url, (n) => this.progress.add(i, n, 'cache'));
    const part = { name: s.url, size: s.record.quantized.source.size, reader, stored: s };
    this.parts.push(part);
    return part;
  }

  /** A small JSON file (config.json, tokenizer.json) through the same cache; undefined if optional and absent. */
  async json(url: string, optional = false, why?: string): Promise<unknown> {
    let part: Part;
    try {
      part = await this.open(url, undefined, why);
    } catch (e) {
      if (optional && ((e instanceof ModelFetchError && e.status === 404) || e instanceof MissingModelFileError)) return undefined;
      throw e;
    }
    const chunks: Uint8Array[] = [];
    for (let n; (n = await part.reader.fill(1)) > 0;) chunks.push(await part.reader.read(n));
    const text = new TextDecoder().decode(concat(chunks));
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ModelFormatError(`${url} is not valid JSON (${(e as Error).message}).`, { cause: e });
    }
  }

  async cancelAll(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.reader.cancel()));
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/** The weight files a model URL stands for: split GGUF shards, safetensors shards (by name or index.json), or itself. */
export async function weightUrls(url: string, files: ModelFiles): Promise<string[]> {
  // (With picked files, `url` and every name made from it are file names looked up among the picked files.)
  const path = url.split(/[?#]/)[0];
  if (splitGgufInfo(path)) return splitGgufUrls(url);
  if (path.endsWith('.safetensors.index.json')) {
    const index = (await files.json(url)) as { weight_map?: Record<string, string> };
    const names = [...new Set(Object.values(index?.weight_map ?? {}))].sort();
    if (!names.length) throw new ModelFormatError(`${url} has no weight_map: not a safetensors index.`);
    return names.map((n) => siblingUrl(url, n));
  }
  if (shardInfo(path)?.ext === 'safetensors') return shardNames(path);
  return [url];
}
