// Merges a LoRA pair into its base matrix for good (src/lora/merge.ts): W[row, col] += scale·Σ_j B[row, j]·A[j, col].
// F32 bases: one weight per word; F16 (F16_BASE define; `F16` would enable f16 arithmetic, shaders.ts): two halves per word, rounded back to f16 (as merging in f16 does).
// lora holds Bᵀ from float bt0 ([r, n], lora-buffers.ts); the matrix starts at word w0 of w (its rows in a fused
// projection's weight); one invocation per word of the matrix.

struct Params { n: u32, k: u32, r: u32, bt0: u32, scale: f32, w0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> lora: array<f32>;
@group(0) @binding(8) var<storage, read_write> w: array<u32>;

fn delta(row: u32, col: u32) -> f32 {
  var d = 0.0;
  for (var j = 0u; j < params.r; j++) { d += lora[params.bt0 + j * params.n + row] * a[j * params.k + col]; }
  return params.scale * d;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat_workgroup(wid, nwg) * 64u + lid;
#if F16_BASE
  if (i >= params.n * params.k / 2u) { return; }
  let e = 2u * i;
  var v = unpack2x16float(w[params.w0 + i]);
  v.x += delta(e / params.k, e % params.k);
  v.y += delta(e / params.k, e % params.k + 1u);
  w[params.w0 + i] = pack2x16float(v);
#else
  if (i >= params.n * params.k) { return; }
  w[params.w0 + i] = bitcast<u32>(bitcast<f32>(w[params.w0 + i]) + delta(i / params.k, i % params.k));
#endif
}
