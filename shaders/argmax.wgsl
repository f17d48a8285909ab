// Index of the largest logit (lowest index on ties, as llama.cpp's greedy sampler), one workgroup per row: row r of
// `logits` ([rows, n]) gives result[r]. The decode head runs one row; the per-row head (rows-head.ts) one per token.
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

// 256 threads on GPUs; a few on CPU adapters, where each barrier level is expensive (Tuning.argmaxWG).
override WG: u32 = 256u;
#if SUBGROUPS
// Subgroup reductions (any subgroup size, no assumption on how subgroups are laid out): the row's largest value as an
// order-preserving u32 key (atomicMax), then the lowest index holding it (atomicMin): three barriers for any WG
// instead of log2(WG).
var<workgroup> best_key: atomic<u32>;
var<workgroup> best_idx: atomic<u32>;

// f32 -> u32 with the same order (negative values flipped whole, positive ones get the sign bit).
fn order_key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}
#else
var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;
#endif

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>
#if SUBGROUPS
        , @builtin(subgroup_invocation_id) sg_lane: u32
#endif
        ) {
  let row = wid.x;
  let base = row * params.n;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var i = lid; i < params.n; i += WG) {
    let v = logits[base + i];
    if (v > bv) { bv = v; bi = i; }
  }
#if SUBGROUPS
  if (lid == 0u) {
    atomicStore(&best_key, 0u);
    atomicStore(&best_idx, 0xffffffffu);
  }
  workgroupBarrier();
  let m = subgroupMax(bv);
  if (sg_lane == 0u) { atomicMax(&best_key, order_key(m)); }
  workgroupBarrier();
  let win = atomicLoad(&best_key);
  let cand = subgroupMin(select(0xffffffffu, bi, order_key(bv) == win));
  if (sg_lane == 0u) { atomicMin(&best_idx, cand); }
  workgroupBarrier();
  if (lid == 0u) { result[row] = atomicLoad(&best_idx); }
#else
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG >> 1u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) {
        best_v[lid] = ov;
        best_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { result[row] = best_i[0]; }
#endif
}
