// One embedding per sequence from the packed hidden states: out[s, i] = mean (POOL_MEAN), first row (CLS) or last
// row of sequence s's rows in x [n_tokens, dim]. seqs = [n_seqs, start_0, start_1, …, start_n] (row offsets, the last
// one the end), written with the batch. One invocation per (sequence, element).

struct Params { dim: u32, mode: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> seqs: array<u32>;

const POOL_MEAN: u32 = 0u;
const POOL_CLS: u32 = 1u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * 64u;
  let d = params.dim;
  let s = idx / d;
  let i = idx % d;
  if (s >= seqs[0]) { return; }
  let start = seqs[1u + s];
  let end = seqs[2u + s];
  var v = 0.0;
  switch (params.mode) {
    case POOL_MEAN: {
      for (var t = start; t < end; t++) { v += x[t * d + i]; }
      v /= f32(end - start);
    }
    case POOL_CLS: { v = x[start * d + i]; }
    default: { v = x[(end - 1u) * d + i]; }
  }
  out[s * d + i] = v;
}
