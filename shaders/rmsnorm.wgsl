// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight, one workgroup per row.
// Rows = step.n_tokens * rows_per_token (rows_per_token = heads for qwen3's per-head q/k norm).
// Variants: IN_PLACE (out is x), ROWS_AT_POS (rows start at pos0 * rows_per_token: K norm applied inside the KV
// cache), ACCUMULATE (out += the normalized row: gemma's post-norms, normalizing a block's output before the
// residual add). The norms before a projection are fused into matvec.wgsl (NORM) when decoding.
// ROPE (+ NEOX; with IN_PLACE, one row = one head): the normalized head is rotated at its token's position before it
// is written (qwen3 / gemma3 q/k norm then RoPE in one dispatch): pairs of the first n_rot dimensions, times mscale.

struct Params { dim: u32, rows_per_token: u32, eps: f32, n_rot: u32, mscale: f32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
#if ROPE
@group(0) @binding(5) var<storage, read> inv_freq: array<f32>;
#endif
#if IN_PLACE
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#endif
@group(0) @binding(4) var<storage, read> weight: array<f32>;

override WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// The row's sum of squares. SUBGROUPS: subgroupAdd, then one value per subgroup through workgroup memory (two
// barriers for any WG instead of log2(WG)); subgroup g is taken to be invocations g·size .. (g+1)·size-1, as 1-D
// workgroups are laid out on the implementations we know (the spec does not promise it).
fn row_sum(lid: u32, v: f32, sg_lane: u32, sg_size: u32) -> f32 {
#if SUBGROUPS
  let s = subgroupAdd(v);
  if (sg_lane == 0u) { partial[lid / sg_size] = s; }
  workgroupBarrier();
  var t = 0.0;
  for (var j = 0u; j < (WG + sg_size - 1u) / sg_size; j++) { t += partial[j]; }
  return t;
#else
  partial[lid] = v;
  workgroupBarrier();
  for (var s = WG >> 1u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return partial[0];
#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
#if SUBGROUPS
        @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32,
#endif
        @builtin(local_invocation_index) lid: u32) {
#if !SUBGROUPS
  let sg_lane = 0u;
  let sg_size = 1u;
#endif
  let r = flat_workgroup(wid, nwg);
  if (r >= step.n_tokens * params.rows_per_token) { return; }
#if ROWS_AT_POS
  let in_row = step.pos0 * params.rows_per_token + r;
  let out_row = in_row;
#else
  let in_row = r;
  let out_row = r;
#endif
  let d = params.dim;
  var ss = 0.0;
  for (var i = lid; i < d; i += WG) {
    let v = x[in_row * d + i];
    ss += v * v;
  }
  let scale = inverseSqrt(row_sum(lid, ss, sg_lane, sg_size) / f32(d) + params.eps);
#if ROPE
  // Each pair is read and written by one invocation; dimensions past n_rot are only normalized.
  let pos = f32(step.pos0 + r / params.rows_per_token);
  let half = params.n_rot >> 1u;
  let o = out_row * d;
  for (var j = lid; j < half; j += WG) {
#if NEOX
    let ia = j;
    let ib = j + half;
#else
    let ia = 2u * j;
    let ib = ia + 1u;
#endif
    let v = rotate_pair(x[o + ia] * scale * weight[ia], x[o + ib] * scale * weight[ib], pos * inv_freq[j]) * params.mscale;
    x[o + ia] = v.x;
    x[o + ib] = v.y;
  }
  for (var i = params.n_rot + lid; i < d; i += WG) {
    x[o + i] = x[o + i] * scale * weight[i];
  }
  return;
#endif
  for (var i = lid; i < d; i += WG) {
#if IN_PLACE
    x[out_row * d + i] = x[in_row * d + i] * scale * weight[i];
#elif ACCUMULATE
    out[out_row * d + i] += x[in_row * d + i] * scale * weight[i];
#else
    out[out_row * d + i] = x[in_row * d + i] * scale * weight[i];
#endif
  }
}
