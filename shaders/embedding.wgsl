// out[t, :] = dequantized row ids[t] of the embedding table (any weights.wgsl format) * scale (gemma: sqrt(dim), else
// 1), one workgroup per token. ACCUMULATE: out[t, :] += the row (BERT adds position and token-type rows to the token's).
struct Params { dim: u32, scale: f32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let id = ids[t];
  let d4 = params.dim >> 2u;
  for (var i = lid; i < d4; i += 64u) {
#if ACCUMULATE
    out[t * d4 + i] += w_load4(id, i << 2u, params.dim) * params.scale;
#else
    out[t * d4 + i] = w_load4(id, i << 2u, params.dim) * params.scale;
#endif
  }
}
