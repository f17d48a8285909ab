/**
 * The KV-cache storage formats as kernel variants: the defines that select a format in the kernels that read or write
 * the cache (attention, kv_store, decode_layer; the layouts are shaders/kv.wgsl's, sizes runtime/kv-format.ts's).
 * Apart from kernels.ts so that graph code can name them without importing the WGSL sources.
 */
export type KvFormat = 'f32' | 'f16' | 'q8_0';

export function kvDefines(f: KvFormat): string[] {
  return f === 'f16' ? ['KV_F16'] : f === 'q8_0' ? ['KV_Q8'] : [];
}
