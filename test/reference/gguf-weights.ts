/**
 * Test-side helpers to feed a GGUF file (already in memory) to the ReferenceModel: a weight source and its config.
 * The config is the engine's own reading (src/formats/model-config.ts through the family spec, the one place that knows
 * a family's keys): what the reference checks independently is the computation, and the config reading is checked by
 * comparing the reference with llama.cpp, which reads the same file itself (llamacpp-agreement.gpu.test.ts). Browser-safe (no node: imports): node tests pass
 * `readFileSync(path)`, browser tests the fetched bytes.
 */
import { parseGgufHeader, type GgufHeader } from '../../src/formats/gguf.ts';
import { GgmlType, type ModelConfig, type TensorInfo } from '../../src/model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors.ts';
import { configFromGguf } from '../../src/formats/model-config.ts';
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

/** ModelConfig of a GGUF file, as the engine reads it (see the top of this file for why that is sound). */
export function referenceConfigFromGguf(header: GgufHeader): ModelConfig {
  return configFromGguf(header);
}
