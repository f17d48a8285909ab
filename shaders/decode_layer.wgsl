// One whole llama layer of one decoded token in ONE workgroup (the "layer kernel"), for models small enough that a
// decoded token is bound by the fixed cost of each dispatch (stories260K: 5 dispatches a layer otherwise; on
// SwiftShader each costs ~0.1 ms of host + driver time, far more than its arithmetic). The phases the separate
// kernels would run (matvec NORM/ROPE/SPLIT3 qkv, attention, matvec o accumulate, matvec NORM/GLU gate_up, matvec
// down accumulate) run here one after the other, separated by workgroup barriers; every activation between them
// (the residual row, its norm, q/k/v, the attention output, the FFN hidden row) lives in workgroup memory, so only
// the residual row, the weights and the KV cache touch storage.
// Weights: the layer's [qkv; o; gate_up; down] rows back to back in one float-format buffer (w, weights.wgsl,
// W_FIXED: declared with the buffer's length, no per-load arrayLength() division on SwiftShader), from element
// offsets 0, off_o, off_gu, off_down. norms: [attn_norm; ffn_norm]. KV cache rows [ctx, kvd] in any of kv.wgsl's
// formats (f32: vec4s here; KV_F16, KV_Q8: u32 words, read and written with kv.wgsl's functions).
// The new K/V row is written to the cache and read back from workgroup memory (never from storage within the
// dispatch), rounded there to what the cache holds (as the separate dispatches read it back from the cache).
// Whole-head RoPE of adjacent pairs only (GGUF llama); attention is causal over all cached keys, one invocation per
// head walking the keys (as attention.wgsl SERIAL);
// HEAD_REGS (head_dim <= 16): the head's q and output stay in registers across the keys.
// SUBGROUPS: the two RMS sums reduce with subgroupAdd (one value per subgroup through workgroup memory) instead of
// every invocation summing all WG partials.

// EMBED (first layer): the residual row is the step's token's row of the embedding table, packed in w from
// off_embd, instead of x (the embedding dispatch folded in). HEAD (last layer): then output_norm (norms from 2·dim),
// the logits (vocab rows packed from off_out, written to `logits`) and their argmax (lowest index on ties, to
// token_out): the decode head folded in.
struct Params {
  dim: u32, qd: u32, kvd: u32, ffn: u32,
  n_heads: u32, n_kv: u32, hd: u32, eps: f32,
  scale: f32, off_o: u32, off_gu: u32, off_down: u32,
  off_embd: u32, off_out: u32, vocab: u32, _pad: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
#if EMBED
@group(0) @binding(3) var<storage, read> ids: array<u32>;
#endif
#if HEAD
@group(0) @binding(5) var<storage, read_write> logits: array<f32>;
@group(0) @binding(7) var<storage, read_write> token_out: array<u32>;
var<workgroup> red_i: array<u32, WG>;
#endif
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read> norms: array<f32>;
@group(0) @binding(6) var<storage, read> inv_freq: array<f32>;
#if KV_F16
@group(0) @binding(10) var<storage, read_write> kc: array<u32>;
@group(0) @binding(11) var<storage, read_write> vc: array<u32>;
#elif KV_Q8
@group(0) @binding(10) var<storage, read_write> kc: array<u32>;
@group(0) @binding(11) var<storage, read_write> vc: array<u32>;
#else
@group(0) @binding(10) var<storage, read_write> kc: array<vec4<f32>>;
@group(0) @binding(11) var<storage, read_write> vc: array<vec4<f32>>;
// Values e .. e+3 of cache row j (e % 4 == 0), as kv.wgsl's k_load4 / v_load4 for the packed formats.
fn k_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> { return kc[(j * kv_dim + e) >> 2u]; }
fn v_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> { return vc[(j * kv_dim + e) >> 2u]; }
#endif

override WG: u32 = 64u;
// Sizes of the workgroup arrays (the host sets them to the model's): dim, q + k + v rows, and in vec4s the
// activations a projection reads: xn (dim), then ao (q rows), then hid (ffn).
override DIM: u32 = 64u;
override QKV: u32 = 128u;
override ACT4: u32 = 96u;
// head_dim / 4 (HEAD_REGS: head_dim <= 16).
override HD4: u32 = 2u;
var<workgroup> res: array<f32, DIM>;
var<workgroup> qkv: array<f32, QKV>;
var<workgroup> act: array<vec4<f32>, ACT4>;
var<workgroup> red: array<f32, WG>;

fn wsum(lid: u32, v: f32, sg_lane: u32, sg_id: u32, sg_size: u32) -> f32 {
#if SUBGROUPS
  let s = subgroupAdd(v);
  if (sg_lane == 0u) { red[sg_id] = s; }
  workgroupBarrier();
  var t = 0.0;
  for (var j = 0u; j < (WG + sg_size - 1u) / sg_size; j++) { t += red[j]; }
  workgroupBarrier();
  return t;
#else
  red[lid] = v;
  workgroupBarrier();
  var t = 0.0;
  for (var j = 0u; j < WG; j++) { t += red[j]; }
  workgroupBarrier();
  return t;
#endif
}

// xn (act[0 ..]) = rmsnorm(res) * norms[nw ..]; ends with a barrier.
fn norm_into_xn(lid: u32, nw: u32, sg_lane: u32, sg_id: u32, sg_size: u32) {
  var ss = 0.0;
  for (var i = lid; i < params.dim; i += WG) { ss += res[i] * res[i]; }
  let s = inverseSqrt(wsum(lid, ss, sg_lane, sg_id, sg_size) / f32(params.dim) + params.eps);
  for (var i = lid; i < params.dim / 4u; i += WG) {
    let j = 4u * i;
    act[i] = vec4<f32>(res[j], res[j + 1u], res[j + 2u], res[j + 3u]) * s *
      vec4<f32>(norms[nw + j], norms[nw + j + 1u], norms[nw + j + 2u], norms[nw + j + 3u]);
  }
  workgroupBarrier();
}

// Dots of 4 weight rows (element offsets w.x .. w.w) of `cols` values with act[a0 ..]: each activation vec4 is
// loaded once for the 4 rows (as matvec ROWS4).
fn dot4(w: vec4<u32>, cols: u32, a0: u32) -> vec4<f32> {
  var acc = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < cols / 4u; k4++) {
    let xv = act[a0 + k4];
    let k = 4u * k4;
    acc += vec4<f32>(dot(w_load4(0u, w.x + k, 0u), xv), dot(w_load4(0u, w.y + k, 0u), xv),
                     dot(w_load4(0u, w.z + k, 0u), xv), dot(w_load4(0u, w.w + k, 0u), xv));
  }
  return acc;
}

// 4 consecutive values of qkv (workgroup memory) from element e.
fn qv4(e: u32) -> vec4<f32> { return vec4<f32>(qkv[e], qkv[e + 1u], qkv[e + 2u], qkv[e + 3u]); }

// Writes the cache row `pos` of K (v = false) or V from qkv[src ..] (kvd values): unit u of kvd / 4 vec4s (f32),
// kvd / 2 pairs (KV_F16) or kvd / 32 blocks (KV_Q8); the values in qkv become the cache's.
#if KV_Q8
fn kv_units(kvd: u32) -> u32 { return kvd >> 5u; }
fn kv_write(v: bool, pos: u32, src: u32, u: u32, kvd: u32) {
  let e0 = 32u * u;
  var xs: array<vec4<f32>, 8>;
  for (var j = 0u; j < 8u; j++) { xs[j] = qv4(src + e0 + 4u * j); }
  let b = kv_q8_block(xs);
  for (var j = 0u; j < 8u; j++) {
    let w = kv_word(pos, e0 + 4u * j, kvd);
    if (v) { vc[w] = b.q[j]; } else { kc[w] = b.q[j]; }
    let x = kv_i8x4(b.q[j]) * b.d;
    for (var i = 0u; i < 4u; i++) { qkv[src + e0 + 4u * j + i] = x[i]; }
  }
  let sw = kv_scale_word(pos, e0, kvd);
  if (v) { vc[sw] = bitcast<u32>(b.d); } else { kc[sw] = bitcast<u32>(b.d); }
}
#elif KV_F16
fn kv_units(kvd: u32) -> u32 { return kvd >> 1u; }
fn kv_write(v: bool, pos: u32, src: u32, u: u32, kvd: u32) {
  let e = src + 2u * u;
  let x = kv_f16_pair(vec2<f32>(qkv[e], qkv[e + 1u]));
  let w = kv_word(pos, 2u * u, kvd);
  if (v) { vc[w] = pack2x16float(x); } else { kc[w] = pack2x16float(x); }
  qkv[e] = x.x;
  qkv[e + 1u] = x.y;
}
#else
fn kv_units(kvd: u32) -> u32 { return kvd >> 2u; }
fn kv_write(v: bool, pos: u32, src: u32, u: u32, kvd: u32) {
  let w = ((pos * kvd) >> 2u) + u;
  if (v) { vc[w] = qv4(src + 4u * u); } else { kc[w] = qv4(src + 4u * u); }
}
#endif

// Element offsets of rows r .. r+3 (clamped to the last row n-1) of the matrix at `off` with `cols` columns.
fn rows4(off: u32, r: u32, n: u32, cols: u32) -> vec4<u32> {
  return vec4<u32>(off) + min(vec4<u32>(r) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n - 1u)) * cols;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32
#if SUBGROUPS
        , @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32
#endif
        ) {
#if SUBGROUPS
  // Subgroups fill a workgroup in order of local_invocation_index (one dimension here), so this is the subgroup's number.
  let sg_id = lid / sg_size;
#else
  let sg_lane = 0u;
  let sg_size = 1u;
  let sg_id = 0u;
#endif
  let dim = params.dim;
  let qd = params.qd;
  let kvd = params.kvd;
  let hd = params.hd;
  let x0 = (step.n_tokens - 1u) * dim;
  let pos = step.pos0 + step.n_tokens - 1u;
#if EMBED
  let e0 = params.off_embd + ids[step.n_tokens - 1u] * dim;
  for (var i = lid; i < dim / 4u; i += WG) {
    let v = w_load4(0u, e0 + 4u * i, 0u);
    for (var j = 0u; j < 4u; j++) { res[4u * i + j] = v[j]; }
  }
#else
  for (var i = lid; i < dim; i += WG) { res[i] = x[x0 + i]; }
#endif
  workgroupBarrier();

  // q, k, v of norm(x) (attn_norm), q and k rotated at pos, k and v into the cache row.
  norm_into_xn(lid, 0u, sg_lane, sg_id, sg_size);
  let nqkv = qd + 2u * kvd;
  for (var r = 4u * lid; r < nqkv; r += 4u * WG) {
    let v = dot4(rows4(0u, r, nqkv, dim), dim, 0u);
    for (var j = 0u; j < 4u; j++) { if (r + j < nqkv) { qkv[r + j] = v[j]; } }
  }
  workgroupBarrier();
  let half = hd >> 1u;
  for (var j = lid; j < (params.n_heads + params.n_kv) * half; j += WG) {
    let base = (j / half) * hd;
    let i = j % half;
    let ia = base + 2u * i;
    let ib = ia + 1u;
    let v = rotate_pair(qkv[ia], qkv[ib], f32(pos) * inv_freq[i]);
    qkv[ia] = v.x;
    qkv[ib] = v.y;
  }
  workgroupBarrier();
  let units = kv_units(kvd);
  for (var u = lid; u < 2u * units; u += WG) {
    let v = u >= units;
    kv_write(v, pos, select(qd, qd + kvd, v), u % units, kvd);
  }
#if KV_F16
  workgroupBarrier();
#elif KV_Q8
  workgroupBarrier();
#endif

  // Attention: one invocation per head over keys 0 ..= pos (online softmax); the head's output, ao, is summed in
  // place (act from vec4 a_ao on; heads are whole vec4s: head_dim % 4 == 0).
  let group = params.n_heads / params.n_kv;
  let a_ao = dim / 4u;
#if HEAD_REGS
  for (var h = lid; h < params.n_heads; h += WG) {
    let q0 = h * hd;
    let kv0 = (h / group) * hd;
    let o4 = a_ao + q0 / 4u;
    // head_dim <= 16 (HD4 = head_dim / 4 vec4s): the head's q and its output accumulator stay in registers, the
    // branches on HD4 are constant. Each key costs its K and V loads only, not q reloads and an output
    // read-modify-write in workgroup memory (per-lane indexed accesses are 4 scalar loads each on SwiftShader).
    let qa = qv4(q0);
    var qb = vec4<f32>(0.0);
    var qc = vec4<f32>(0.0);
    var qe = vec4<f32>(0.0);
    if (HD4 > 1u) { qb = qv4(q0 + 4u); }
    if (HD4 > 2u) { qc = qv4(q0 + 8u); }
    if (HD4 > 3u) { qe = qv4(q0 + 12u); }
    var oa = vec4<f32>(0.0);
    var ob = vec4<f32>(0.0);
    var oc = vec4<f32>(0.0);
    var oe = vec4<f32>(0.0);
    var m = -3.4e38;
    var l = 0.0;
    // Keys 0 .. pos-1 from the cache, then the current position's K/V from workgroup memory (this dispatch's
    // cache writes are not read back).
    for (var t = 0u; t < pos; t++) {
      var s = dot(qa, k_load4(t, kv0, kvd));
      if (HD4 > 1u) { s += dot(qb, k_load4(t, kv0 + 4u, kvd)); }
      if (HD4 > 2u) { s += dot(qc, k_load4(t, kv0 + 8u, kvd)); }
      if (HD4 > 3u) { s += dot(qe, k_load4(t, kv0 + 12u, kvd)); }
      s *= params.scale;
      let mn = max(m, s);
      let c = exp(m - mn);
      let p = exp(s - mn);
      l = l * c + p;
      oa = oa * c + p * v_load4(t, kv0, kvd);
      if (HD4 > 1u) { ob = ob * c + p * v_load4(t, kv0 + 4u, kvd); }
      if (HD4 > 2u) { oc = oc * c + p * v_load4(t, kv0 + 8u, kvd); }
      if (HD4 > 3u) { oe = oe * c + p * v_load4(t, kv0 + 12u, kvd); }
      m = mn;
    }
    let nk = qd + kv0;
    let nv = qd + kvd + kv0;
    var s = dot(qa, qv4(nk));
    if (HD4 > 1u) { s += dot(qb, qv4(nk + 4u)); }
    if (HD4 > 2u) { s += dot(qc, qv4(nk + 8u)); }
    if (HD4 > 3u) { s += dot(qe, qv4(nk + 12u)); }
    s *= params.scale;
    let mn = max(m, s);
    let c = exp(m - mn);
    let p = exp(s - mn);
    l = l * c + p;
    oa = oa * c + p * qv4(nv);
    if (HD4 > 1u) { ob = ob * c + p * qv4(nv + 4u); }
    if (HD4 > 2u) { oc = oc * c + p * qv4(nv + 8u); }
    if (HD4 > 3u) { oe = oe * c + p * qv4(nv + 12u); }
    act[o4] = oa / l;
    if (HD4 > 1u) { act[o4 + 1u] = ob / l; }
    if (HD4 > 2u) { act[o4 + 2u] = oc / l; }
    if (HD4 > 3u) { act[o4 + 3u] = oe / l; }
  }
#else
  for (var h = lid; h < params.n_heads; h += WG) {
    let q0 = h * hd;
    let kv0 = (h / group) * hd;
    let o4 = a_ao + q0 / 4u;
    var m = -3.4e38;
    var l = 0.0;
    for (var d = 0u; d < hd / 4u; d++) { act[o4 + d] = vec4<f32>(0.0); }
    // Keys 0 .. pos-1 from the cache, then the current position's K/V from workgroup memory (this dispatch's cache
    // writes are not read back). Two loops, not a select per key: SwiftShader evaluates both sides of a select, and
    // every load with a per-lane index is 4 scalar loads there.
    for (var t = 0u; t < pos; t++) {
      var s = 0.0;
      for (var d = 0u; d < hd / 4u; d++) { s += dot(qv4(q0 + 4u * d), k_load4(t, kv0 + 4u * d, kvd)); }
      s *= params.scale;
      let mn = max(m, s);
      let c = exp(m - mn);
      let p = exp(s - mn);
      l = l * c + p;
      for (var d = 0u; d < hd / 4u; d++) { act[o4 + d] = act[o4 + d] * c + p * v_load4(t, kv0 + 4u * d, kvd); }
      m = mn;
    }
    var s = 0.0;
    for (var d = 0u; d < hd; d++) { s += qkv[q0 + d] * qkv[qd + kv0 + d]; }
    s *= params.scale;
    let mn = max(m, s);
    let c = exp(m - mn);
    let p = exp(s - mn);
    l = l * c + p;
    for (var d = 0u; d < hd / 4u; d++) {
      let n0 = qd + kvd + kv0 + 4u * d;
      act[o4 + d] = (act[o4 + d] * c + p * vec4<f32>(qkv[n0], qkv[n0 + 1u], qkv[n0 + 2u], qkv[n0 + 3u])) / l;
    }
  }
#endif
  workgroupBarrier();

  // x += o · attention, then the FFN on norm(x) (ffn_norm): x += down · (silu(gate) · up).
  for (var r = 4u * lid; r < dim; r += 4u * WG) {
    let v = dot4(rows4(params.off_o, r, dim, qd), qd, a_ao);
    for (var j = 0u; j < 4u; j++) { res[r + j] += v[j]; }
  }
  workgroupBarrier();
  norm_into_xn(lid, dim, sg_lane, sg_id, sg_size);
  // hid (act from a_hid on) = silu(gate) · up; ffn % 4 == 0.
  let ffn = params.ffn;
  let a_hid = a_ao + qd / 4u;
  for (var p = 4u * lid; p < ffn; p += 4u * WG) {
    let g = dot4(rows4(params.off_gu, p, ffn, dim), dim, 0u);
    let u = dot4(rows4(params.off_gu + ffn * dim, p, ffn, dim), dim, 0u);
    act[a_hid + p / 4u] = g / (1.0 + exp(-g)) * u;
  }
  workgroupBarrier();
  for (var r = 4u * lid; r < dim; r += 4u * WG) {
    let v = dot4(rows4(params.off_down, r, dim, ffn), ffn, a_hid);
    for (var j = 0u; j < 4u; j++) {
      res[r + j] += v[j];
      x[x0 + r + j] = res[r + j];
    }
  }
#if HEAD
  workgroupBarrier();
  norm_into_xn(lid, 2u * dim, sg_lane, sg_id, sg_size);
  let vocab = params.vocab;
  var bv = -3.4e38;
  var bi = 0xffffffffu;
  for (var r = 4u * lid; r < vocab; r += 4u * WG) {
    let v = dot4(rows4(params.off_out, r, vocab, dim), dim, 0u);
    for (var j = 0u; j < 4u; j++) {
      if (r + j < vocab) {
        logits[r + j] = v[j];
        if (v[j] > bv) { bv = v[j]; bi = r + j; }
      }
    }
  }
  red[lid] = bv;
  red_i[lid] = bi;
  workgroupBarrier();
  if (lid == 0u) {
    for (var j = 1u; j < WG; j++) {
      if (red[j] > bv || (red[j] == bv && red_i[j] < bi)) { bv = red[j]; bi = red_i[j]; }
    }
    token_out[0] = bi;
  }
#endif
}
