/**
 * From a source (URL, Blob, or picked files) to a model on the GPU: parse the header from the first bytes, check the
 * model is one we can run, then upload each tensor as soon as its bytes have arrived. GGUF carries its tokenizer; a
 * safetensors model takes `config.json`, `tokenizer.json` and `tokenizer_config.json` from beside the weights (beside
 * the URL, or among the picked files by name).
 */
import type { ModelConfig, TensorInfo } from '../model/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { parseGgufHeader, type GgufHeader } from '../formats/gguf.ts';
import { describeGguf } from './gguf-model.ts';
import { parseSafetensorsHeader, type SafetensorsHeader } from '../formats/safetensors.ts';
import { familyOfHf } from '../families/index.ts';
import { poolingFromSentenceTransformers } from '../families/bert.ts';
import { bandRows } from '../gpu/weights.ts';
import { configFromHf } from '../formats/model-config.ts';
import { validateModel } from '../formats/model-checks.ts';
import { ropeFreqFactors } from '../model/rope.ts';
import { dequantize } from '../formats/quant.ts';
import { parseQuantizeOption, quantizeChooser } from './quantize-on-load.ts';
import { tokenizerFromHf } from '../tokenizer/hf-tokenizer.ts';
import { WeightStore } from '../gpu/weights.ts';
import type { Gpu } from '../gpu/device.ts';
import { readHeader } from './stream-reader.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { isSourceRequest, resolveSource, siblingUrl, type SingleSource, type SourceRequest, type LoadSource } from './source.ts';
import { DEFAULT_CHUNK_BYTES } from './fetch-file.ts';
import { ProgressTracker, STREAM_FRACTION, type LoadProgress } from './progress.ts';
import * as store from '../cache/store.ts';
import { PickedFileSet, isPickedFiles, pickedEntry } from './picked-files.ts';
import { QuantizedCacheDamaged, QuantizedFileWriter, dropQuantized, lockQuantized, openQuantized, quantizedUrl, storedTensorOk, type StoredQuantizedFile } from './quantized-cache.ts';
import { InvalidRequestError } from '../errors.ts';
import { QuantizePool } from './quantize-pool.ts';
import { InOrder } from './in-order.ts';
import { ModelFiles, weightUrls, type Part } from './model-files.ts';

// The progress types live with the tracker (progress.ts); re-exported here, where callers have always found them.
export type { LoadPhase, LoadProgress } from './progress.ts';

export interface LoadedModel {
  format: 'gguf' | 'safetensors';
  config: ModelConfig;
  tokenizer: Tokenizer;
  weights: WeightStore;
  /** RoPE frequency divisors from the config (GGUF llama3 files carry `rope_freqs.weight` instead). */
  ropeFactors?: Float32Array;
  /** Jinja chat template shipped with the model, if any. */
  chatTemplate?: string;
  /** Model name for display. */
  name: string;
  /** Quantize-on-load's worker threads that converted bands (0: in-thread); undefined when nothing was converted. */
  quantizeThreads?: number;
}

export interface LoadModelOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Quantize-on-load (loader/quantize-on-load.ts): a weight format id (`q8_0`, `q4_k`, …) or llama.cpp mix (`q4_k_m`). */
  quantize?: string;
  /** With `quantize`: cache the quantized weights instead of the original files (loader/quantized-cache.ts). */
  cacheQuantized?: boolean;
  /** With `quantize`: worker threads that convert bands (loader/quantize-pool.ts); 0: in the loading thread. */
  quantizeThreads?: number;
}

const toF32 = (t: { type: number; shape: number[]; bytes: Uint8Array }) =>
  dequantize(t.type, t.bytes, t.shape.reduce((a, b) => a * b, 1));

export async function loadModel(gpu: Gpu, source: LoadSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  try {
    return await loadOnce(gpu, source, options, true);
  } catch (e) {
    // The quantized cache's entry turned out damaged mid-load (it has been dropped): load from the original instead.
    if (!(e instanceof QuantizedCacheDamaged)) throw e;
    return loadOnce(gpu, source, options, false);
  }
}

async function loadOnce(gpu: Gpu, source: LoadSource, options: LoadModelOptions, useStored: boolean): Promise<LoadedModel> {
  const req: SourceRequest = isSourceRequest(source) ? source : { llmoSource: source };
  const src = req.llmoSource;
  // Picked files: the entry file's name stands in for a URL, and names made from it are looked up among the files.
  const picked = isPickedFiles(src) ? new PickedFileSet(src) : undefined;
  const main = picked ? pickedEntry(picked.names) : resolveSource(src as SingleSource, req.hfBaseUrl);
  const progress = new ProgressTracker(options.onProgress);
  const files = new ModelFiles(req, progress, options.signal, picked);
  // HF norm weights of some families are stored as w for x·(1 + w) (FamilySpec.hfNormShift): made GGUF's 1 + w here.
  let normShift = 0;
  const vectorF32 = (t: { name: string; type: number; shape: number[]; bytes: Uint8Array }) => {
    const v = toF32(t);
    if (normShift && t.name.endsWith('norm.weight')) for (let i = 0; i < v.length; i++) v[i] += normShift;
    return v;
  };
  const quantize = parseQuantizeOption(options.quantize);
  if (options.cacheQuantized && !quantize) {
    throw new InvalidRequestError("cacheQuantized keeps quantize-on-load's output: pass a quantize choice too (e.g. { quantize: 'q4_k_m', cacheQuantized: true }).");
  }
  // Quantized weights are cached for fetched models only (a File or picked files are on this computer already).
  const keepQuantized = options.cacheQuantized && typeof main === 'string' && !picked && (req.cache ?? true) && store.cacheAvailable()
    ? options.quantize!.toLowerCase() : undefined;
  const weights = new WeightStore(gpu.device, gpu.caps.maxStorageBufferBindingSize, vectorF32);
  let writers: QuantizedFileWriter[] | undefined;
  let urls: string[] = [];
  let stored: StoredQuantizedFile[] | undefined;
  const pool = quantize ? new QuantizePool(options.quantizeThreads) : undefined;
  const unlock = keepQuantized ? await lockQuantized(main as string, keepQuantized, options.signal) : undefined;
  try {
    const name = typeof main === 'string' ? main : (main as File).name ?? 'model';
    urls = typeof main === 'string' ? await weightUrls(main, files) : [];
    stored = keepQuantized && useStored
      ? await openQuantized(main as string, urls, keepQuantized, urls.length === 1 ? req.sha256 : undefined) : undefined;
    // Every weight file is opened before any is read: headers first (the config needs all tensors), then data.
    const parts: Part[] = [];
    if (typeof main !== 'string') parts.push(await files.open(main));
    const why = urls.length > 1 ? `the model is split in ${urls.length} files (${urls.map(baseName).join(', ')})` : undefined;
    for (const [k, u] of urls.entries()) {
      // Kept quantized: the original is read from the cache if it is there, but not stored.
      parts.push(stored ? files.openStored(stored[k]) : await files.open(u, urls.length === 1 ? req.sha256 : undefined, why, !keepQuantized));
    }
    const first = parts[0];
    await first.reader.fill(8);
    const magic = first.reader.peek(4);
    const isGguf = magic.length === 4 && String.fromCharCode(...magic) === 'GGUF';
    const looksSafetensors = /\.safetensors(\.index\.json)?(\?|#|$)/.test(name);
    let result: Omit<LoadedModel, 'weights'>;
    const perPart: TensorInfo[][] = [];
    if (isGguf) {
      const headers: GgufHeader[] = [];
      for (const p of parts) headers.push(await readHeader<GgufHeader>(p.reader, (b) => parseGgufHeader(b, { fileSize: p.size }), p.name));
      const g = describeGguf(headers, first.name);
      perPart.push(...g.perPart);
      result = { format: 'gguf', config: g.config, tokenizer: g.tokenizer, chatTemplate: g.chatTemplate, name: g.name ?? baseName(name) };
    } else if (looksSafetensors) {
      if (typeof main !== 'string') {
        throw new UnsupportedModelError(
          'A safetensors model needs its config.json and tokenizer.json: load it by URL, or pick those files together with ' +
            'the .safetensors file(s) and pass them all: load([...input.files]).',
        );
      }
      const needs = 'a safetensors model needs config.json and tokenizer.json beside its weights';
      const [configJson, tokJson, tokConfig] = [
        await files.json(siblingUrl(main, 'config.json'), false, needs),
        await files.json(siblingUrl(main, 'tokenizer.json'), false, needs),
        await files.json(siblingUrl(main, 'tokenizer_config.json'), true),
      ];
      // HF names are mapped to GGUF names by the family's table (config.json names the family).
      const family = familyOfHf(String((configJson as { model_type?: unknown }).model_type));
      const names = family.hfNames;
      normShift = family.hfNormShift ?? 0;
      for (const p of parts) {
        const h = await readHeader<SafetensorsHeader>(p.reader, (b) => parseSafetensorsHeader(b, { fileSize: p.size, names }), p.name);
        perPart.push(h.tensors);
      }
      const tensors = perPart.flat();
      const config = configFromHf(configJson as object, tensors);
      validateModel(config, tensors);
      // sentence-transformers keeps the pooling of an embedding model in 1_Pooling/config.json.
      if (family.encoder) config.pooling = poolingFromSentenceTransformers(await files.json(siblingUrl(main, '1_Pooling/config.json'), true)) ?? config.pooling;
      const tc = tokConfig as { chat_template?: unknown } | undefined;
      result = {
        format: 'safetensors', config,
        tokenizer: await tokenizerFromHf(tokJson as object, tokConfig as object | undefined),
        chatTemplate: typeof tc?.chat_template === 'string' ? tc.chat_template : undefined,
        ropeFactors: config.ropeScaling ? ropeFreqFactors(config) : undefined,
        name: picked ? picked.displayName(main) : baseName(siblingUrl(main, '').replace(/\/$/, '')),
      };
    } else {
      throw new UnsupportedModelError(
        `${first.name} is neither a GGUF file (no "GGUF" magic) nor a .safetensors URL. llmo loads GGUF (F32/F16/Q8_0/Q4_0) ` +
          'and Hugging Face safetensors (F32/F16/BF16) models.',
      );
    }
    if (quantize) weights.quantizeFor = quantizeChooser(quantize, result.config, perPart.flat());
    const ordered = perPart.map((ts) => [...ts].sort((a, b) => a.offset - b.offset));
    if (keepQuantized && !stored && ordered.every((ts) => ts.length)) writers = await startWriters(parts, ordered, keepQuantized, req.chunkBytes ?? DEFAULT_CHUNK_BYTES);
    // Tensors are read in file order; bands to convert go to the pool and are uploaded (and cached) in that same order
    // as they come back. At most 2 per thread (+2) wait: that bounds the bytes in flight (a band is ≤ 4 MiB of f32).
    const steps = new InOrder(2 * (pool?.threads ?? 0) + 2);
    for (const [i, p] of parts.entries()) {
      const writer = writers?.[i];
      for (const [k, t] of ordered[i].entries()) {
        const s = p.stored?.record.quantized.tensors[k];
        if (p.stored && !storedTensorOk(s, t.name, t.shape)) throw new QuantizedCacheDamaged(`${p.stored.url}: tensor ${k} is not ${t.name}`);
        await p.reader.skipTo(p.stored ? p.stored.offsets[k] : t.offset);
        const to = s ? undefined : weights.convertsTo(t);
        if (!to || !pool) {
          const bytes = await p.reader.read(s ? s.byteLength : t.byteLength);
          await steps.push(undefined, async () => {
            const uploaded = weights.add({ name: t.name, type: s ? s.type : t.type, shape: t.shape, bytes });
            await writer?.appendTensor(uploaded);
          });
          continue;
        }
        const cols = t.shape[t.shape.length - 1];
        const rows = t.shape.reduce((a, b) => a * b, 1) / cols;
        const inRow = t.byteLength / rows;
        const sink = weights.addConverted(t, to);
        // The cache's table lists tensors in file order: in a step, after the tensors before this one are written.
        await steps.push(undefined, () => writer?.beginTensor(t.name, to.type, sink.byteLength));
        const band = bandRows(rows, cols);
        for (let r0 = 0; r0 < rows; r0 += band) {
          const n = Math.min(band, rows - r0);
          const bytes = await p.reader.read(n * inRow);
          await steps.push(pool.run({ format: to.id, type: t.type, count: n * cols, bytes }), async (out) => {
            sink.write(r0, out);
            await writer?.append(out);
          });
        }
      }
      await steps.drain();
      // Read to the end: the whole-file hash check and the cache's completion happen there.
      await p.reader.drain();
    }
    await files.cancelAll();
    // Only fetched models are cached and listed; a File or picked files are on this computer already.
    if (!stored) await recordModel(typeof main === 'string' && !picked ? main : undefined, files.urls, progress.total(), req.cache ?? true);
    if (keepQuantized) await recordQuantized(main as string, urls, keepQuantized, parts, writers, files.urls);
    progress.emit(0, 'upload', STREAM_FRACTION);
    const quantizeThreads = pool?.used ? pool.workers : undefined;
    pool?.close();
    return { ...result, weights, quantizeThreads };
  } catch (e) {
    pool?.close();
    weights.destroy();
    await files.cancelAll();
    await Promise.all((writers ?? []).map((w) => w.abort()));
    // A stored entry that fails to read back (a chunk gone, a table that does not fit) is dropped; loadModel retries.
    const damaged = e instanceof QuantizedCacheDamaged || (e as Error)?.cause instanceof QuantizedCacheDamaged ||
      (!!stored && e instanceof ModelFormatError);
    if (damaged && keepQuantized) {
      await dropQuantized(main as string, urls, keepQuantized).catch(() => {});
      throw new QuantizedCacheDamaged('the quantized cache entry was damaged', { cause: e });
    }
    // A file that is not a model we can run should not stay in the cache (or count against the quota).
    if ((e instanceof ModelFormatError || e instanceof UnsupportedModelError) && store.cacheAvailable()) {
      await Promise.all(files.urls.map((u) => store.deleteFile(u).catch(() => {})));
    }
    throw e;
  } finally {
    unlock?.();
  }
}

/** One quantized-cache writer per weight file, each starting with the file's header bytes (before its first tensor). */
async function startWriters(parts: Part[], ordered: TensorInfo[][], choice: string, chunkBytes: number): Promise<QuantizedFileWriter[]> {
  const out: QuantizedFileWriter[] = [];
  for (const [i, p] of parts.entries()) {
    const start = ordered[i][0].offset;
    await p.reader.fill(start);
    out.push(await QuantizedFileWriter.start(p.name, choice, p.reader.peek(start), chunkBytes));
  }
  return out;
}

/**
 * Completes the quantized cache's entry (every file's record, then the model record, last) or refreshes its use
 * time when it was read from there. A write that failed (quota) drops the entry with a warning: the load stands.
 */
async function recordQuantized(key: string, urls: string[], choice: string, parts: Part[], writers: QuantizedFileWriter[] | undefined, smallFiles: string[]): Promise<void> {
  const qkey = quantizedUrl(key, choice);
  const now = Date.now();
  try {
    if (!writers) {
      const old = await store.getModel(qkey);
      if (old) await store.putModel({ ...old, lastUsedAt: now });
      return;
    }
    for (const [i, w] of writers.entries()) {
      const p = parts[i];
      if (!(await w.finish({ size: p.size ?? 0, etag: p.etag, sha256: p.sha256 }))) throw w.failed;
    }
    const files = [...urls.map((u) => quantizedUrl(u, choice)), ...smallFiles.filter((u) => !urls.includes(u))];
    let bytes = writers.reduce((a, w) => a + w.bytes, 0);
    for (const u of files.slice(urls.length)) bytes += (await store.getFile(u))?.size ?? 0;
    await store.putModel({ key: qkey, url: key, files, bytes, createdAt: now, lastUsedAt: now, quantize: choice });
  } catch (e) {
    await dropQuantized(key, urls, choice).catch(() => {});
    console.warn(`llmo: could not keep the ${choice} weights of ${key} in the cache (${(e as Error)?.name}: ${(e as Error)?.message}); they will be made again next time.`);
  }
}

/** Writes (or refreshes) the model's entry for cache.list() once all its files are cached. */
async function recordModel(key: string | undefined, urls: string[], bytes: number | undefined, cache: boolean): Promise<void> {
  if (!key || !cache || !store.cacheAvailable()) return;
  try {
    for (const u of urls) if (!(await store.getFile(u))) return; // some file could not be cached
    const old = await store.getModel(key);
    const now = Date.now();
    await store.putModel({ key, url: key, files: urls, bytes: bytes ?? old?.bytes ?? 0, createdAt: old?.createdAt ?? now, lastUsedAt: now });
  } catch (e) {
    console.warn(`llmo: could not record ${key} in the cache index (${(e as Error)?.message}).`);
  }
}

function baseName(s: string): string {
  return s.split(/[?#]/)[0].split('/').pop() || s;
}
