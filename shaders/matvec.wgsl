// y[row] = dot(W[row, :], x) for one token (decode). W: [n, k] in any weights.wgsl format.
// Each workgroup computes ROWS rows with WG / ROWS threads per row, then reduces in workgroup memory.
// Variants: HAS_BIAS (y += bias), ACCUMULATE (y += result: fuses the residual add), OUT_AT_POS (write row pos0 of
// a [ctx, n] buffer: the K/V projections write straight into the KV cache).

struct Params { n: u32, k: u32, x_offset: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

override WG: u32 = 64u;
override ROWS: u32 = 4u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let tpr = WG / ROWS;
  let r = lid / tpr;
  let lane = lid % tpr;
  let row = flat_workgroup(wid, nwg) * ROWS + r;
  let k4n = params.k >> 2u;
  var acc = 0.0;
  if (row < params.n) {
    for (var k4 = lane; k4 < k4n; k4 += tpr) {
      acc += dot(w_load4(row, k4 << 2u, params.k), x[params.x_offset + k4]);
    }
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = tpr >> 1u; s > 0u; s >>= 1u) {
    if (lane < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  if (lane == 0u && row < params.n) {
    var v = partial[lid];
#if HAS_BIAS
    v += bias[row];
#endif
#if OUT_AT_POS
    let o = step.pos0 * params.n + row;
#else
    let o = row;
#endif
#if ACCUMULATE
    y[o] += v;
#else
    y[o] = v;
#endif
  }
}
