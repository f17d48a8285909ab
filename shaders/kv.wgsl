// KV-cache storage formats, read by attention.wgsl (KV_F16 / KV_Q8: k_load4, v_load4, k_load, v_load over the caches
// bound as u32 words) and written by kv_store.wgsl. A cache is [ctx, kv_dim] position-major; row j of a format:
//   f32 (no define): kv_dim f32 (attention reads those directly).
//   KV_F16: kv_dim f16, two per u32 (pack2x16float / unpack2x16float: core WGSL, no `shader-f16` needed).
//   KV_Q8: ggml Q8_0 blocks of 32 values: kv_dim int8 (4 per u32), then kv_dim / 32 f32 scales, each the f16 value
//     of the block's scale (d = amax / 127 rounded to f16, as ggml stores it) held in an f32 word, so two blocks
//     never share a word and one invocation writes a block alone.
// Row sizes on the host: src/runtime/kv-format.ts.

// u32 words of one cache row.
fn kv_row_words(kv_dim: u32) -> u32 {
#if KV_Q8
  return (kv_dim >> 2u) + (kv_dim >> 5u);
#else
  return kv_dim >> 1u;
#endif
}

// Word holding values e .. e+3 (KV_Q8) or e, e+1 (KV_F16) of row j; KV_Q8: the word of their block's scale.
fn kv_word(j: u32, e: u32, kv_dim: u32) -> u32 {
#if KV_Q8
  return j * kv_row_words(kv_dim) + (e >> 2u);
#else
  return j * kv_row_words(kv_dim) + (e >> 1u);
#endif
}
fn kv_scale_word(j: u32, e: u32, kv_dim: u32) -> u32 {
  return j * kv_row_words(kv_dim) + (kv_dim >> 2u) + (e >> 5u);
}

fn kv_i8x4(u: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(u) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
