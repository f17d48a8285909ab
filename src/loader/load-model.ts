/**
 * From a source (URL or Blob) to a model on the GPU: parse the header from the first bytes, check the model is one we
 * can run, then upload each tensor as soon as its bytes have arrived. GGUF carries its tokenizer; a safetensors
 * model takes `config.json`, `tokenizer.json` and `tokenizer_config.json` from beside the weights.
 */
import type { ModelConfig, TensorInfo } from '../model/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { parseGgufHeader, ggufString, type GgufHeader } from '../formats/gguf.ts';
import { parseSafetensorsHeader, type SafetensorsHeader } from '../formats/safetensors.ts';
import { configFromGguf, configFromHf, validateModel, ropeFreqFactors } from '../formats/model-config.ts';
import { dequantize } from '../formats/quant.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf-tokenizer.ts';
import { tokenizerFromHf } from '../tokenizer/hf-tokenizer.ts';
import { WeightStore } from '../gpu/weights.ts';
import type { Gpu } from '../gpu/device.ts';
import { StreamReader, openSource, fetchJson, type ModelSource } from './stream-reader.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';

export type LoadPhase = 'download' | 'upload' | 'compile' | 'ready';

export interface LoadProgress {
  phase: LoadPhase;
  /** Bytes of the model file received so far. */
  loaded: number;
  /** Total bytes, when known. */
  total?: number;
  /** 0..1 over the whole load (download dominates; compile is the last few percent). */
  fraction: number;
  /** File being read. */
  file: string;
}

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
}

export interface LoadModelOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

const toF32 = (t: { type: number; shape: number[]; bytes: Uint8Array }) =>
  dequantize(t.type, t.bytes, t.shape.reduce((a, b) => a * b, 1));

/** Reads a header by growing the prefix until the parser has all it needs. */
async function readHeader<H>(r: StreamReader, parse: (b: Uint8Array) => H | { needBytes: number }, name: string): Promise<H> {
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

export async function loadModel(gpu: Gpu, source: ModelSource, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const opened = await openSource(source, options.signal);
  let loaded = 0;
  const total = opened.size;
  const emit = (phase: LoadPhase, fraction: number) =>
    options.onProgress?.({ phase, loaded, total, fraction, file: opened.name });
  const reader = new StreamReader(opened.stream.getReader(), opened.name, (n) => {
    loaded += n;
    if (total) emit('download', Math.min(0.97, (0.97 * loaded) / total));
  });
  const weights = new WeightStore(gpu.device, gpu.caps.maxStorageBufferBindingSize, toF32);
  try {
    await reader.fill(8);
    const magic = reader.peek(4);
    const isGguf = magic.length === 4 && String.fromCharCode(...magic) === 'GGUF';
    const name = typeof source === 'string' || source instanceof URL ? String(source) : (source as File).name ?? 'model';
    const looksSafetensors = /\.safetensors(\?|#|$)/.test(name);
    let result: Omit<LoadedModel, 'weights'>;
    let tensors: TensorInfo[];
    if (isGguf) {
      const header = await readHeader<GgufHeader>(reader, parseGgufHeader, opened.name);
      const config = configFromGguf(header);
      validateModel(config, header.tensors);
      tensors = header.tensors;
      const chatTemplate = ggufString(header.metadata, 'tokenizer.chat_template', undefined);
      result = {
        format: 'gguf', config, tokenizer: tokenizerFromGguf(header.metadata), chatTemplate,
        name: ggufString(header.metadata, 'general.name', undefined) ?? baseName(name),
      };
    } else if (looksSafetensors) {
      if (typeof source !== 'string' && !(source instanceof URL)) {
        throw new UnsupportedModelError('A safetensors model needs its config.json and tokenizer.json: load it by URL, not as a single file.');
      }
      const dir = String(source).replace(/[^/]*$/, '');
      const [configJson, tokJson, tokConfig] = await Promise.all([
        fetchJson(dir + 'config.json', options.signal),
        fetchJson(dir + 'tokenizer.json', options.signal),
        fetchJson(dir + 'tokenizer_config.json', options.signal).catch(() => undefined),
      ]);
      const header = await readHeader<SafetensorsHeader>(reader, (b) => parseSafetensorsHeader(b, { fileSize: total }), opened.name);
      const config = configFromHf(configJson as object, header.tensors);
      validateModel(config, header.tensors);
      tensors = header.tensors;
      const tc = tokConfig as { chat_template?: unknown } | undefined;
      result = {
        format: 'safetensors', config,
        tokenizer: await tokenizerFromHf(tokJson as object, tokConfig as object | undefined),
        chatTemplate: typeof tc?.chat_template === 'string' ? tc.chat_template : undefined,
        ropeFactors: config.ropeScaling ? ropeFreqFactors(config) : undefined,
        name: baseName(dir.replace(/\/$/, '')),
      };
    } else {
      throw new UnsupportedModelError(
        `${opened.name} is neither a GGUF file (no "GGUF" magic) nor a .safetensors URL. llmo loads GGUF (F32/F16/Q8_0/Q4_0) ` +
          'and Hugging Face safetensors (F32/F16/BF16) models.',
      );
    }
    const ordered = [...tensors].sort((a, b) => a.offset - b.offset);
    for (const t of ordered) {
      await reader.skipTo(t.offset);
      const bytes = await reader.read(t.byteLength);
      weights.add({ name: t.name, type: t.type, shape: t.shape, bytes });
    }
    await reader.cancel();
    emit('upload', 0.97);
    return { ...result, weights };
  } catch (e) {
    weights.destroy();
    await reader.cancel();
    throw e;
  }
}

function baseName(s: string): string {
  return s.split(/[?#]/)[0].split('/').pop() || s;
}
