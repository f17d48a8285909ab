// Writes the step's new K and V rows (f32 [n_tokens, kv_dim], as the projections and RoPE left them) into the KV
// cache rows pos0 .. pos0 + n_tokens - 1 in the cache's format (kv.wgsl). One invocation per pair of values
// (KV_F16) or per 32-value block (KV_Q8), for K and V alike. The f32 cache needs none of this: the projections
// write into it directly.
// KV_Q8 quantizes each block as ggml does (kv.wgsl kv_q8_block).

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
  for (var j = 0u; j < 8u; j++) {
    let e = src + e0 + 4u * j;
    if (is_v) { xs[j] = vec4<f32>(v_new[e], v_new[e + 1u], v_new[e + 2u], v_new[e + 3u]); }
    else { xs[j] = vec4<f32>(k_new[e], k_new[e + 1u], k_new[e + 2u], k_new[e + 3u]); }
  }
  let b = kv_q8_block(xs);
  for (var j = 0u; j < 8u; j++) {
    let w = kv_word(row, e0 + 4u * j, params.kv_dim);
    if (is_v) { vc[w] = b.q[j]; } else { kc[w] = b.q[j]; }
  }
  let sw = kv_scale_word(row, e0, params.kv_dim);
  if (is_v) { vc[sw] = bitcast<u32>(b.d); } else { kc[sw] = bitcast<u32>(b.d); }
#else
  let e = src + 2u * u;
  var pair: vec2<f32>;
  if (is_v) { pair = vec2<f32>(v_new[e], v_new[e + 1u]); } else { pair = vec2<f32>(k_new[e], k_new[e + 1u]); }
  let w = kv_word(row, 2u * u, params.kv_dim);
  let packed = pack2x16float(kv_f16_pair(pair));
  if (is_v) { vc[w] = packed; } else { kc[w] = packed; }
#endif
}
