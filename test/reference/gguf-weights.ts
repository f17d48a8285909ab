/**
 * Test-side helpers to feed a GGUF file (already in memory) to the ReferenceModel: a weight source and a
 * llama/qwen2/qwen3 config read straight from the metadata. Deliberately small and separate from src/formats/model-config.ts so
 * the reference does not share the engine's config code. Browser-safe (no node: imports): node tests pass
 * `readFileSync(path)`, browser tests the fetched bytes.
 */
import { parseGgufHeader, type GgufHeader } from '../../src/formats/gguf.ts';
import { GgmlType, type ModelConfig, type TensorInfo } from '../../src/model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors.ts';
import type { WeightSource } from './llama-ref.ts';

/** Turns a non-F32 tensor's bytes into f32 (plug in a dequantizer to use quantized files). */
export type Dequantizer = (info: TensorInfo, bytes: Uint8Array) => Float32Array;

export interface LoadedGguf {
  header: GgufHeader;
  bytes: Uint8Array;
  weight: WeightSource;
}

/**
 * Weights of a whole GGUF file held in memory (`path` only names it in errors); F32 tensors are read as-is,
 * other types go through `dequant` if given. Tensors are decoded on first use and kept.
 */
export function loadGguf(bytes: Uint8Array, path = 'GGUF', dequant?: Dequantizer): LoadedGguf {
  const header = parseGgufHeader(bytes);
  if ('needBytes' in header) throw new ModelFormatError(`${path}: GGUF header runs past the end of the file (truncated?).`);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const cache = new Map<string, Float32Array>();
  const weight: WeightSource = (name) => {
    const info = byName.get(name);
    if (!info) return undefined;
    let w = cache.get(name);
    if (!w) {
      if (info.offset + info.byteLength > bytes.length) throw new ModelFormatError(`${path}: tensor ${name} runs past the end of the file.`);
      const raw = bytes.subarray(info.offset, info.offset + info.byteLength);
      if (info.type === GgmlType.F32) {
        // Copy to an aligned buffer of its own (a Node Buffer's slice() would still share the whole file's memory).
        const copy = new Uint8Array(raw.length);
        copy.set(raw);
        w = new Float32Array(copy.buffer);
      } else if (dequant) w = dequant(info, raw);
      else throw new UnsupportedModelError(`Reference loader: tensor ${name} has ggml type ${info.type}; pass a dequantizer to read it.`);
      cache.set(name, w);
    }
    return w;
  };
  return { header, bytes, weight };
}

function num(meta: GgufHeader['metadata'], key: string, fallback?: number): number {
  const v = meta.get(key);
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number') throw new ModelFormatError(`GGUF metadata ${key} is ${String(v)}, expected a number.`);
  return v;
}

/**
 * ModelConfig of a GGUF `llama`, `qwen2` or `qwen3` file, from `{arch}.*` metadata and the tensor list. GGUF llama
 * files use the adjacent-pair ("normal") RoPE layout (the converter permutes Q/K), qwen files HF's halves ("neox").
 * llama3 RoPE scaling needs no config here: such files carry `rope_freqs.weight`, which ReferenceModel reads.
 */
export function referenceConfigFromGguf(header: GgufHeader): ModelConfig {
  const m = header.metadata;
  const arch = m.get('general.architecture');
  if (arch !== 'llama' && arch !== 'qwen2' && arch !== 'qwen3') {
    throw new UnsupportedModelError(`Reference config helper reads llama/qwen2/qwen3 GGUFs, got ${String(arch)}.`);
  }
  const has = (name: string): boolean => header.tensors.some((t) => t.name === name);
  const dim = num(m, `${arch}.embedding_length`);
  const nHeads = num(m, `${arch}.attention.head_count`);
  const embd = header.tensors.find((t) => t.name === 'token_embd.weight');
  if (!embd) throw new ModelFormatError('GGUF has no token_embd.weight.');
  return {
    arch,
    vocabSize: embd.shape[0],
    dim,
    nLayers: num(m, `${arch}.block_count`),
    nHeads,
    nKvHeads: num(m, `${arch}.attention.head_count_kv`, nHeads),
    headDim: num(m, `${arch}.attention.key_length`, dim / nHeads),
    ffnDim: num(m, `${arch}.feed_forward_length`),
    contextLength: num(m, `${arch}.context_length`),
    normEps: num(m, `${arch}.attention.layer_norm_rms_epsilon`),
    ropeTheta: num(m, `${arch}.rope.freq_base`, 10000),
    ropeStyle: arch === 'llama' ? 'normal' : 'neox',
    tiedEmbeddings: !has('output.weight'),
    qkvBias: has('blk.0.attn_q.bias'),
    qkNorm: has('blk.0.attn_q_norm.weight'),
  };
}
