// x[r, :] = (x[r, :] - mean) / sqrt(var + eps) * weight + bias, in place, one workgroup per row (rows =
// step.n_tokens). LayerNorm of BERT-family encoders (post-norm: after each residual add), biased variance as torch.
// Two passes over the row (mean, then centred squares) rather than E[x²] - E[x]²: no cancellation when the mean is
// large next to the spread.

struct Params { dim: u32, _pad0: u32, eps: f32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;

override WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

fn row_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG >> 1u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let r = flat_workgroup(wid, nwg);
  if (r >= step.n_tokens) { return; }
  let d = params.dim;
  let o = r * d;
  var s = 0.0;
  for (var i = lid; i < d; i += WG) { s += x[o + i]; }
  let mean = row_sum(s, lid) / f32(d);
  var ss = 0.0;
  for (var i = lid; i < d; i += WG) {
    let c = x[o + i] - mean;
    ss += c * c;
  }
  let inv = inverseSqrt(row_sum(ss, lid) / f32(d) + params.eps);
  for (var i = lid; i < d; i += WG) {
    x[o + i] = (x[o + i] - mean) * inv * weight[i] + bias[i];
  }
}
