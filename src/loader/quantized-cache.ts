/**
 * The quantized cache: `load(url, { quantize: 'q4_k_m', cacheQuantized: true })` keeps the weights as they were
 * uploaded (converted) instead of the original files, so the next load with the same choice reads them from
 * IndexedDB: no download of the original, no quantizing.
 *
 * Each weight file of the model is stored as one cache file (cache/store.ts layout: fixed-size chunks with their
 * sha256, then a complete-file record) under `<file URL>#llmo-quantize=<choice>`; its bytes are the original's header
 * (so the loader parses the same config, tokenizer and tensor table) followed by every tensor as uploaded, in file
 * order. The file record (`quantized`) names each tensor's stored type and length and the original file's size, ETag
 * and sha256. The model record `<model URL>#llmo-quantize=<choice>` is written last, after every file is complete: an
 * interrupted load leaves an in-progress entry that is never read (and is cleared by the next load of that choice).
 * A different choice is a different key; a stored entry whose source no longer matches (the caller's sha256, or a
 * cached original of another size/ETag/sha256) is dropped and made again.
 */
import * as store from '../cache/store.ts';
import { sha256Hex } from '../cache/sha256.ts';
import { ggmlTypeByteLength } from '../formats/ggml-types.ts';
import { chunkCount } from './source.ts';
import { lockCacheKey } from './cache-lock.ts';
import type { RawTensor } from '../gpu/weights.ts';
import type { GgmlType } from '../model/types.ts';

/** The cache key of a file (or model) kept quantized with `choice`. */
export const quantizedUrl = (url: string, choice: string): string => `${url}#llmo-quantize=${choice}`;

/** A stored file found damaged while loading (a chunk missing or altered): the load starts over from the original. */
export class QuantizedCacheDamaged extends Error {}

/** One weight file as stored quantized: its record and its bytes (header, then tensors), each chunk checked. */
export interface StoredQuantizedFile {
  url: string;
  record: store.FileRecord & { quantized: store.QuantizedFileMeta };
  /** Where each tensor of the original's table (in offset order) lies in the stored bytes. */
  offsets: number[];
  stream: ReadableStream<Uint8Array>;
}

/**
 * Every weight file of a model stored with this choice, or undefined (nothing stored, an interrupted entry, or a stale
 * one: those are dropped). `sha256`: the caller's expected hash of a single-file model.
 */
export async function openQuantized(modelUrl: string, urls: string[], choice: string, sha256?: string): Promise<StoredQuantizedFile[] | undefined> {
  if (!(await store.getModel(quantizedUrl(modelUrl, choice)))) {
    // No model record: whatever files of this choice are stored are an interrupted write's (a tab closed mid-load, or
    // between its files' records and the model record). The caller holds the entry's lock (`lockQuantized`), so
    // no other tab is writing them: they go now, not only when this load gets as far as writing its own.
    await dropQuantized(modelUrl, urls, choice);
    return undefined;
  }
  const out: StoredQuantizedFile[] = [];
  for (const url of urls) {
    const qurl = quantizedUrl(url, choice);
    const rec = await store.getFile(qurl);
    const meta = rec?.quantized;
    if (!rec || !meta || meta.quantize !== choice || (await stale(url, meta, sha256)) ||
      (await store.storedChunkIndices(qurl)).length !== chunkCount(rec.size, rec.chunkBytes)) {
      await dropQuantized(modelUrl, urls, choice);
      return undefined;
    }
    const offsets: number[] = [];
    let at = meta.header.byteLength;
    for (const t of meta.tensors) {
      offsets.push(at);
      at += t.byteLength;
    }
    out.push({ url, record: rec as StoredQuantizedFile['record'], offsets, stream: readStored(qurl, rec) });
  }
  return out;
}

/** The source changed since the weights were stored: another expected sha256, or a cached original that differs. */
async function stale(url: string, meta: store.QuantizedFileMeta, sha256?: string): Promise<boolean> {
  const src = meta.source;
  if (sha256 && src.sha256 && sha256.toLowerCase() !== src.sha256) return true;
  const original = await store.getFile(url);
  if (!original) return false;
  return original.size !== src.size || (!!original.etag && !!src.etag && original.etag !== src.etag) ||
    (!!original.sha256 && !!src.sha256 && original.sha256 !== src.sha256);
}

/**
 * Holds the entry's Web Lock (cache-lock.ts `lockCacheKey` on its model key) for a whole load with `cacheQuantized`: two
 * tabs (or engines) loading the same model with the same choice at once do not both quantize and write it; the
 * second waits, then reads back what the first stored. Taken before any file's own lock (fetchFile), never after.
 */
export function lockQuantized(modelUrl: string, choice: string, signal?: AbortSignal): Promise<() => void> {
  return lockCacheKey(quantizedUrl(modelUrl, choice), signal);
}

/** Drops a model's quantized entry with this choice: its model record first (so it stops counting), then its files. */
export async function dropQuantized(modelUrl: string, urls: string[], choice: string): Promise<void> {
  await store.deleteModelRecord(quantizedUrl(modelUrl, choice)).catch(() => {});
  await Promise.all(urls.map((u) => store.deleteFile(quantizedUrl(u, choice)).catch(() => {})));
}

/** A stored file's chunks in order, each checked against its sha256 (two read ahead). */
function readStored(qurl: string, rec: store.FileRecord): ReadableStream<Uint8Array> {
  const n = chunkCount(rec.size, rec.chunkBytes);
  const reader = store.checkedChunkReader(rec, 1);
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= n) return controller.close();
      const bytes = await reader.take(i);
      if (!bytes) {
        controller.error(new QuantizedCacheDamaged(`chunk ${i} of ${qurl} is missing or corrupt`));
        return;
      }
      i++;
      controller.enqueue(bytes);
    },
  }, { highWaterMark: 0 });
}

/** Chunk writes allowed in flight before appending waits (bounds memory, as the download's). */
const MAX_PENDING_WRITES = 4;

/**
 * Writes one weight file's quantized form as it is loaded: `append` each tensor as uploaded, `finish` once the whole
 * original has been read and checked. Never fails the load: a write error (quota) drops the entry with a warning.
 */
export class QuantizedFileWriter {
  private readonly qurl: string;
  private buf: Uint8Array;
  private fill = 0;
  private index = 0;
  private size = 0;
  private readonly chunkSha: string[] = [];
  private readonly tensors: store.QuantizedFileMeta['tensors'] = [];
  private readonly writes: Promise<void>[] = [];
  failed: unknown;

  private constructor(readonly url: string, private readonly choice: string, private readonly header: Uint8Array, private readonly chunkBytes: number) {
    this.qurl = quantizedUrl(url, choice);
    this.buf = new Uint8Array(chunkBytes);
  }

  /** Clears what an earlier, interrupted write left and marks this one in progress (so cache.usage counts it). */
  static async start(url: string, choice: string, header: Uint8Array, chunkBytes: number): Promise<QuantizedFileWriter> {
    const w = new QuantizedFileWriter(url, choice, header, chunkBytes);
    try {
      await store.deleteFile(w.qurl);
      await store.putPartial({ url: w.qurl, size: 0, chunkBytes, startedAt: Date.now() });
    } catch (e) {
      w.failed = e;
    }
    await w.append(header);
    return w;
  }

  async appendTensor(t: RawTensor): Promise<void> {
    this.beginTensor(t.name, t.type, t.bytes.byteLength);
    await this.append(t.bytes);
  }

  /** A tensor whose `byteLength` bytes follow in pieces (`append`, in order): quantize-on-load's bands. */
  beginTensor(name: string, type: GgmlType, byteLength: number): void {
    this.tensors.push({ name, type, byteLength });
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.size += bytes.byteLength;
    if (this.failed) return;
    for (let v = bytes; v.byteLength;) {
      const take = Math.min(v.byteLength, this.chunkBytes - this.fill);
      this.buf.set(v.subarray(0, take), this.fill);
      this.fill += take;
      v = v.subarray(take);
      if (this.fill === this.chunkBytes) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    const i = this.index++;
    const bytes = this.buf.subarray(0, this.fill);
    this.buf = new Uint8Array(this.chunkBytes);
    this.fill = 0;
    this.writes.push(sha256Hex(bytes).then((sha) => {
      this.chunkSha[i] = sha;
      return store.putChunk(this.qurl, i, { bytes, sha });
    }).catch((e) => {
      this.failed ??= e;
    }));
    if (this.writes.length >= MAX_PENDING_WRITES) await this.writes[this.writes.length - MAX_PENDING_WRITES];
  }

  /** Stores the last chunk and the complete-file record; false when the entry could not be kept. */
  async finish(source: store.QuantizedFileMeta['source']): Promise<boolean> {
    if (!this.failed && this.fill) await this.flush();
    await Promise.all(this.writes);
    if (!this.failed) {
      await store.completeFile({
        url: this.qurl, size: this.size, chunkBytes: this.chunkBytes, chunkSha: this.chunkSha, createdAt: Date.now(),
        quantized: { quantize: this.choice, header: this.header, source, tensors: this.tensors },
      }).catch((e) => {
        this.failed = e;
      });
    }
    return !this.failed;
  }

  /** The stored bytes. */
  get bytes(): number {
    return this.size;
  }

  async abort(): Promise<void> {
    await Promise.allSettled(this.writes);
    await store.deleteFile(this.qurl).catch(() => {});
  }
}

/** Checks a stored tensor against the original's table entry (name and a byte length that fits its type and shape). */
export function storedTensorOk(s: store.QuantizedFileMeta['tensors'][number] | undefined, name: string, shape: number[]): boolean {
  if (!s || s.name !== name) return false;
  try {
    return ggmlTypeByteLength(s.type, shape.reduce((a, b) => a * b, 1)) === s.byteLength;
  } catch {
    return false;
  }
}
