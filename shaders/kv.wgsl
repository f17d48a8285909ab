// KV-cache storage formats, read by attention.wgsl and decode_layer.wgsl (KV_F16 / KV_Q8: k_load4, v_load4, k_load,
// v_load below, over the caches the kernel declares as `kc` and `vc`, u32 words) and written by kv_store.wgsl and
// decode_layer.wgsl (kv_f16_pair, kv_q8_block). A cache is [ctx, kv_dim] position-major; row j of a format:
//   f32 (no define): kv_dim f32 (the kernels read those directly).
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

#if KV_F16
fn k_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> {
  let w = kv_word(j, e, kv_dim);
  return vec4<f32>(unpack2x16float(kc[w]), unpack2x16float(kc[w + 1u]));
}
fn v_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> {
  let w = kv_word(j, e, kv_dim);
  return vec4<f32>(unpack2x16float(vc[w]), unpack2x16float(vc[w + 1u]));
}
fn k_load(j: u32, e: u32, kv_dim: u32) -> f32 { return unpack2x16float(kc[kv_word(j, e, kv_dim)])[e & 1u]; }
fn v_load(j: u32, e: u32, kv_dim: u32) -> f32 { return unpack2x16float(vc[kv_word(j, e, kv_dim)])[e & 1u]; }
#elif KV_Q8
fn k_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> {
  return kv_i8x4(kc[kv_word(j, e, kv_dim)]) * bitcast<f32>(kc[kv_scale_word(j, e, kv_dim)]);
}
fn v_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> {
  return kv_i8x4(vc[kv_word(j, e, kv_dim)]) * bitcast<f32>(vc[kv_scale_word(j, e, kv_dim)]);
}
fn k_load(j: u32, e: u32, kv_dim: u32) -> f32 { return k_load4(j, e & ~3u, kv_dim)[e & 3u]; }
fn v_load(j: u32, e: u32, kv_dim: u32) -> f32 { return v_load4(j, e & ~3u, kv_dim)[e & 3u]; }
#endif

// d >= 0 rounded to the nearest f16 value (ties to even), kept in f32, with integer arithmetic. Not
// unpack2x16float(pack2x16float(d)): Mesa's compiler folds that pair to d (lavapipe stored unrounded scales, found by
// test/node/lavapipe.test.ts), and WGSL leaves pack2x16float's rounding to the implementation. A value past f16's
// range (> 65504) is not made inf here, as it would be by ggml.
fn round_f16(d: f32) -> f32 {
  // Below f16's smallest normal (2^-14) its values are the multiples of 2^-24; both scalings are exact in f32.
  if (d < 6.103515625e-5) { return round(d * 16777216.0) * 5.9604644775390625e-8; }
  // Normal: keep 10 of f32's 23 fraction bits, adding just under half of the dropped part's unit, plus the kept
  // part's lowest bit (so a tie goes to even); a carry into the exponent is the correct result.
  let u = bitcast<u32>(d);
  return bitcast<f32>((u + 0xfffu + ((u >> 13u) & 1u)) & 0xffffe000u);
}

// KV_F16: a pair of values as the cache holds them: rounded to f16, to nearest even, here (packing them is then exact,
// whatever rounding the implementation's pack2x16float does), kept in f32 for a kernel that also uses the row it
// wrote (decode_layer's current key and value). Every f16 cache write goes through it.
fn kv_f16_pair(x: vec2<f32>) -> vec2<f32> {
  return sign(x) * vec2<f32>(round_f16(abs(x.x)), round_f16(abs(x.y)));
}

fn kv_round_away(x: vec4<f32>) -> vec4<f32> {
  return sign(x) * floor(abs(x) + 0.5);
}

fn kv_pack_i8x4(q: vec4<f32>) -> u32 {
  let b = bitcast<vec4<u32>>(vec4<i32>(q)) & vec4<u32>(0xffu);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

// KV_Q8: one block of 32 values quantized as ggml's quantize_row_q8_0_ref: d = amax / 127, q = round-half-away(x / d)
// (x · (1/d)), d stored rounded to f16 (round_f16), so the cache holds exactly what a ggml Q8_0 block of these values
// decodes to: q[i] · d. `q` holds the 4-value words (kv_i8x4 unpacks one), `d` the rounded scale.
struct KvQ8Block { q: array<u32, 8>, d: f32 }
fn kv_q8_block(xs: array<vec4<f32>, 8>) -> KvQ8Block {
  var amax = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let a = abs(xs[j]);
    amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
  }
  let d = amax / 127.0;
  let id = select(0.0, 1.0 / d, d != 0.0);
  var b: KvQ8Block;
  for (var j = 0u; j < 8u; j++) { b.q[j] = kv_pack_i8x4(kv_round_away(xs[j] * id)); }
  b.d = round_f16(d);
  return b;
}
