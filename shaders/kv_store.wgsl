// Writes the step's new K and V rows (f32 [n_tokens, kv_dim], as the projections and RoPE left them) into the KV
// cache rows pos0 .. pos0 + n_tokens - 1 in the cache's format (kv.wgsl). One invocation per pair of values
// (KV_F16) or per 32-value block (KV_Q8), for K and V alike. The f32 cache needs none of this: the projections
// write into it directly.
// KV_Q8 quantizes as ggml's quantize_row_q8_0_ref: d = amax / 127, q = round-half-away(x / d) (x · (1/d)), and
// stores d rounded to f16 (to nearest, ties to even: round_f16), so the cache holds exactly what a ggml Q8_0 block of
// these values decodes to.

struct Params { kv_dim: u32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> k_new: array<f32>;
@group(0) @binding(3) var<storage, read> v_new: array<f32>;
@group(0) @binding(4) var<storage, read_write> kc: array<u32>;
@group(0) @binding(5) var<storage, read_write> vc: array<u32>;

// Units (pairs or blocks) per row.
fn units() -> u32 {
#if KV_Q8
  return params.kv_dim >> 5u;
#else
  return params.kv_dim >> 1u;
#endif
}

fn round_away(x: vec4<f32>) -> vec4<f32> {
  return sign(x) * floor(abs(x) + 0.5);
}

// d >= 0 rounded to the nearest f16 value (ties to even), kept in f32, with integer arithmetic. Not
// unpack2x16float(pack2x16float(d)): Mesa's compiler folds that pair to d (lavapipe stored unrounded scales, found by
// test/node/lavapipe.test.ts), and WGSL leaves pack2x16float's rounding to the implementation. A scale past f16's range
// (a block's amax > 8e6) is not made inf here, as it would be by ggml.
fn round_f16(d: f32) -> f32 {
  // Below f16's smallest normal (2^-14) its values are the multiples of 2^-24; both scalings are exact in f32.
  if (d < 6.103515625e-5) { return round(d * 16777216.0) * 5.9604644775390625e-8; }
  // Normal: keep 10 of f32's 23 fraction bits, adding just under half of the dropped part's unit, plus the kept
  // part's lowest bit (so a tie goes to even); a carry into the exponent is the correct result.
  let u = bitcast<u32>(d);
  return bitcast<f32>((u + 0xfffu + ((u >> 13u) & 1u)) & 0xffffe000u);
}

fn pack_i8x4(q: vec4<f32>) -> u32 {
  let b = bitcast<vec4<u32>>(vec4<i32>(q)) & vec4<u32>(0xffu);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

// One unit (a pair or a block) of K or V of token t, from the f32 rows into cache row pos0 + t.
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let per_tok = units();
  if (idx >= 2u * step.n_tokens * per_tok) { return; }
  let is_v = idx >= step.n_tokens * per_tok;
  let i = idx % (step.n_tokens * per_tok);
  let t = i / per_tok;
  let u = i % per_tok;
  let row = step.pos0 + t;
  let src = t * params.kv_dim;
#if KV_Q8
  let e0 = u << 5u;
  var xs: array<vec4<f32>, 8>;
  var amax = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let e = src + e0 + 4u * j;
    if (is_v) { xs[j] = vec4<f32>(v_new[e], v_new[e + 1u], v_new[e + 2u], v_new[e + 3u]); }
    else { xs[j] = vec4<f32>(k_new[e], k_new[e + 1u], k_new[e + 2u], k_new[e + 3u]); }
    let a = abs(xs[j]);
    amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
  }
  let d = amax / 127.0;
  let id = select(0.0, 1.0 / d, d != 0.0);
  let d16 = round_f16(d);
  for (var j = 0u; j < 8u; j++) {
    let w = pack_i8x4(round_away(xs[j] * id));
    if (is_v) { vc[kv_word(row, e0 + 4u * j, params.kv_dim)] = w; } else { kc[kv_word(row, e0 + 4u * j, params.kv_dim)] = w; }
  }
  let sw = kv_scale_word(row, e0, params.kv_dim);
  if (is_v) { vc[sw] = bitcast<u32>(d16); } else { kc[sw] = bitcast<u32>(d16); }
#else
  let e = src + 2u * u;
  var pair: vec2<f32>;
  if (is_v) { pair = vec2<f32>(v_new[e], v_new[e + 1u]); } else { pair = vec2<f32>(k_new[e], k_new[e + 1u]); }
  let w = kv_word(row, 2u * u, params.kv_dim);
  if (is_v) { vc[w] = pack2x16float(pair); } else { kc[w] = pack2x16float(pair); }
#endif
}
