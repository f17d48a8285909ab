/**
 * The KV cache's storage format (`load(src, { kvCache })`): bytes per cached position and which formats a model
 * can use. The layout of each is shaders/kv.wgsl's; the projections write new K/V rows in f32 and, for the packed
 * formats, `kv_store` converts them into the cache (one dispatch per layer).
 */
import type { KvFormat } from '../gpu/kernels.ts';
import type { GpuCaps } from '../gpu/device.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';

export type { KvFormat };
export const KV_FORMATS: readonly KvFormat[] = ['f32', 'f16', 'q8_0'];

/** Bytes of one position's K (or V) row of kvDim values. */
export function kvRowBytes(f: KvFormat, kvDim: number): number {
  return f === 'f32' ? kvDim * 4 : f === 'f16' ? kvDim * 2 : kvDim + (kvDim / 32) * 4;
}

/**
 * Below this many bytes of f32 cache (all layers, the whole context) the default stays f32 even with `shader-f16`:
 * f16 would save under 8 MiB, and costs a `kv_store` dispatch per layer per token wherever the layer kernel
 * (runtime/layer-kernel.ts, which writes every format itself) does not run.
 */
export const SMALL_KV_BYTES = 16 << 20;

/**
 * The format asked for, checked against the model, or the default: f16 where the adapter has `shader-f16` (a real
 * GPU: half the memory and bandwidth of f32; the f16 cache itself needs only core WGSL and is tested on
 * SwiftShader) and the f32 cache would take more than SMALL_KV_BYTES (`f32CacheBytes`), else f32.
 */
export function resolveKvFormat(
  asked: KvFormat | undefined, caps: Pick<GpuCaps, 'f16'>, kvDim: number, headDim: number, f32CacheBytes: number,
): KvFormat {
  const f = asked ?? (caps.f16 && f32CacheBytes > SMALL_KV_BYTES ? 'f16' : 'f32');
  if (!KV_FORMATS.includes(f)) throw new InvalidRequestError(`kvCache '${String(f)}' is not one of ${KV_FORMATS.join(', ')}.`);
  if (f === 'q8_0' && kvDim % 32 !== 0) {
    throw new UnsupportedModelError(`kvCache 'q8_0' needs n_kv_heads × head_dim to be a multiple of 32 (this model: ${kvDim}); use 'f16' or 'f32'.`);
  }
  if (f !== 'f32' && headDim % 4 !== 0) throw new UnsupportedModelError(`kvCache '${f}' needs head_dim to be a multiple of 4 (this model: ${headDim}); use 'f32'.`);
  return f;
}
