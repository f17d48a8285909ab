// One token drawn from the logits on the GPU (runtime/gpu-sampler.ts), the same pipeline as runtime/sampler.ts:
// logit bias → repetition penalty (seen tokens) → frequency/presence penalties (counts) → temperature → top-k →
// top-p → min-p → a seeded draw; at temperature 0, the argmax of the adjusted logits instead. One workgroup. The kept
// set is always {x ≥ cut} for one threshold, because top-k, top-p and min-p each keep a prefix of the tokens sorted by
// logit, so nothing is sorted: top-k's cut is the k-th largest order-preserving 32-bit key (radix_select.wgsl: 4
// passes over the logits); top-p's is built bit by bit (32 parallel sums of the mass at or above a candidate key),
// over the top-k survivors copied into workgroup memory when they are at most CAP (the defaults' top-k 40), else over
// all the logits. The draw walks the kept tokens in index order (the same distribution as the CPU's walk in
// probability order). Ties at a top-k cut keep every tied token (the CPU keeps the lower indices).
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
// Adjusted in place (bias, penalties): the sampled path never reads the logits back. The arrays' lengths are fixed
// (VOCAB, the host's Kernels.make `lengths`): a runtime-sized array's robustness clamp against arrayLength() costs an
// integer division per lane per load on SwiftShader (BENCHMARKS.md round 7), and this kernel reads every logit ~8 times.
@group(0) @binding(2) var<storage, read_write> logits: array<f32, VOCAB>;
@group(0) @binding(3) var<storage, read_write> result: array<u32>;

struct Sampling {
  temperature: f32,
  top_k: u32,       // 0 or >= n: off
  top_p: f32,       // 1: off
  min_p: f32,       // 0: off
  repetition: f32,  // 1: off
  frequency: f32,
  presence: f32,
  seed: u32,
}
@group(0) @binding(4) var<storage, read> s: Sampling;
// Per token: times generated (bits 0..30) and seen in prompt or output (bit 31); then [n] = draws so far.
@group(0) @binding(5) var<storage, read_write> state: array<u32, STATE_LEN>;
@group(0) @binding(6) var<storage, read> bias: array<f32, VOCAB>;

override WG: u32 = 256u;
var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;
var<workgroup> pick_t: u32;
// top-p over at most CAP survivors of top-k: their keys and their exp((x - max) / t).
const CAP: u32 = 256u;
var<workgroup> cand_k: array<u32, CAP>;
var<workgroup> cand_e: array<f32, CAP>;
var<workgroup> n_cand: atomic<u32>;
var<workgroup> n_cand_u: u32;

const SEEN: u32 = 0x80000000u;


fn sum_f(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var st = WG >> 1u; st > 0u; st >>= 1u) {
    if (lid < st) { red_f[lid] += red_f[lid + st]; }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_f[0]);
  return r;
}

fn max_f(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var st = WG >> 1u; st > 0u; st >>= 1u) {
    if (lid < st) { red_f[lid] = max(red_f[lid], red_f[lid + st]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_f[0]);
  return r;
}

fn min_u(lid: u32, v: u32) -> u32 {
  red_u[lid] = v;
  workgroupBarrier();
  for (var st = WG >> 1u; st > 0u; st >>= 1u) {
    if (lid < st) { red_u[lid] = min(red_u[lid], red_u[lid + st]); }
    workgroupBarrier();
  }
  let r = workgroupUniformLoad(&red_u[0]);
  return r;
}

fn pcg(v: u32) -> u32 {
  let st = v * 747796405u + 2891336453u;
  let w = ((st >> ((st >> 28u) + 4u)) ^ st) * 277803737u;
  return (w >> 22u) ^ w;
}

// The k-th largest key of the logits (0 < k < n).
fn kth_key(lid: u32, k: u32) -> u32 {
  var sel = vec2<u32>(0u, k);
  for (var shift = 24u; shift < 32u; shift -= 8u) {
    radix_clear(lid, WG);
    workgroupBarrier();
    for (var i = lid; i < params.n; i += WG) { radix_count(order_key(logits[i]), sel, shift); }
    workgroupBarrier();
    sel = radix_next(lid, sel, shift);
  }
  return sel.x;
}

// Copies the tokens with key >= cut (their keys and exp((x - mx) / t)) into cand_k / cand_e; returns how many there
// are (those past CAP are counted, not copied).
fn gather_survivors(lid: u32, cut: u32, mx: f32, t: f32) -> u32 {
  if (lid == 0u) { atomicStore(&n_cand, 0u); }
  workgroupBarrier();
  for (var i = lid; i < params.n; i += WG) {
    let x = logits[i];
    let kk = order_key(x);
    if (kk >= cut) {
      let j = atomicAdd(&n_cand, 1u);
      if (j < CAP) {
        cand_k[j] = kk;
        cand_e[j] = exp((x - mx) / t);
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { n_cand_u = atomicLoad(&n_cand); }
  return workgroupUniformLoad(&n_cand_u);
}

// Mass of the copied survivors with key >= k.
fn mass_of_survivors(lid: u32, nc: u32, k: u32) -> f32 {
  var z = 0.0;
  for (var j = lid; j < nc; j += WG) { if (cand_k[j] >= k) { z += cand_e[j]; } }
  return sum_f(lid, z);
}

// Mass of the tokens with key >= k (exp relative to the max, at temperature t).
fn mass(lid: u32, k: u32, mx: f32, t: f32) -> f32 {
  var z = 0.0;
  for (var i = lid; i < params.n; i += WG) {
    let x = logits[i];
    if (order_key(x) >= k) { z += exp((x - mx) / t); }
  }
  return sum_f(lid, z);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let t = s.temperature;
  // Bias and penalties, in place; each thread later reads back only the entries it wrote.
  var m = -3.4e38;
  for (var i = lid; i < n; i += WG) {
    var x = logits[i] + bias[i];
    let st = state[i];
    if ((st & SEEN) != 0u && s.repetition != 1.0) { x = select(x * s.repetition, x / s.repetition, x > 0.0); }
    let c = st & ~SEEN;
    if (c > 0u) { x -= f32(c) * s.frequency + s.presence; }
    logits[i] = x;
    m = max(m, x);
  }
  let mx = max_f(lid, m);

  // Temperature 0 (greedy with bias or penalties; gpu-sampler.ts writes 0 for top_k 1 too): the adjusted logits'
  // argmax, the lowest index on ties (runtime/sampler.ts argmax); each thread's first hit is its lowest index.
  if (t <= 0.0) {
    var first = 0xffffffffu;
    for (var i = lid; i < n; i += WG) {
      if (logits[i] == mx) {
        first = i;
        break;
      }
    }
    let pick = min_u(lid, first);
    if (lid == 0u) {
      result[0] = pick;
      state[pick] = (state[pick] + 1u) | SEEN;
    }
    return;
  }

  // top-k: the largest key K with at least k tokens at or above it, i.e. the k-th largest key.
  var cut = 0u;
  if (s.top_k > 0u && s.top_k < n) { cut = kth_key(lid, s.top_k); }
  // top-p over the top-k set: the largest key whose tokens at or above it hold at least top_p of its mass.
  if (s.top_p < 1.0) {
    var nc = CAP + 1u;
    if (cut > 0u) { nc = gather_survivors(lid, cut, mx, t); }
    var kp = 0u;
    if (nc <= CAP) {
      let goal = s.top_p * mass_of_survivors(lid, nc, cut);
      for (var b = 31; b >= 0; b--) {
        let cand = kp | (1u << u32(b));
        if (mass_of_survivors(lid, nc, max(cand, cut)) >= goal) { kp = cand; }
      }
    } else {
      let goal = s.top_p * mass(lid, cut, mx, t);
      for (var b = 31; b >= 0; b--) {
        let cand = kp | (1u << u32(b));
        if (mass(lid, max(cand, cut), mx, t) >= goal) { kp = cand; }
      }
    }
    cut = max(cut, kp);
  }
  // min-p: probability at least min_p × the top token's, i.e. x >= max + t·ln(min_p).
  if (s.min_p > 0.0) { cut = max(cut, order_key(mx + t * log(s.min_p))); }
  // Never a masked token (-inf, runtime/token-mask.ts): order_key(-inf) + 1 is the smallest finite key.
  cut = max(cut, 0x00800000u);

  // The draw: u in [0, total), found by each thread summing its own contiguous slice, then a walk in one slice.
  let chunk = (n + WG - 1u) / WG;
  let lo = min(lid * chunk, n);
  let hi = min(lo + chunk, n);
  var part = 0.0;
  for (var i = lo; i < hi; i++) {
    let x = logits[i];
    if (order_key(x) >= cut) { part += exp((x - mx) / t); }
  }
  red_f[lid] = part;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var j = 0u; j < WG; j++) { total += red_f[j]; }
    let draw = state[n];
    state[n] = draw + 1u;
    var r = f32(pcg(pcg(s.seed) ^ draw) >> 8u) / 16777216.0 * total;
    // The slice holding r, and r within it (the last non-empty slice when rounding leaves r past the end).
    var tsel = 0u;
    for (var j = 0u; j < WG; j++) {
      if (red_f[j] > 0.0) {
        tsel = j;
        if (r < red_f[j]) { break; }
        r -= red_f[j];
      }
    }
    pick_t = tsel;
    red_f[0] = r;
  }
  workgroupBarrier();
  if (lid == pick_t) {
    var r = red_f[0];
    var pick = 0xffffffffu;
    for (var i = lo; i < hi; i++) {
      let x = logits[i];
      if (order_key(x) >= cut) {
        pick = i;
        r -= exp((x - mx) / t);
        if (r < 0.0) { break; }
      }
    }
    result[0] = pick;
    state[pick] = (state[pick] + 1u) | SEEN;
  }
}
