// What a request's log-probs need, computed where the logits are (runtime/gpu-logprobs.ts), so a step reads back one
// small record instead of vocab × 4 bytes. Runs before the pick (mask, argmax or draw change the logits in place):
// the softmax's max and Σ exp(x − max) over the raw logits (the host takes lse = max + ln Σ in f64), the TOP largest
// logits with their ids, exact (the TOP-th largest key by radix_select.wgsl, so nothing is sorted; ties go to the
// lower index, as runtime/sampler.ts topKIndices), and a copy of the raw logits.
// CHOSEN runs after the pick and records the picked token and its raw logit from that copy.
// Record (u32 words): [0] max, [1] Σ, [2] picked token's logit, [3] picked token, [4 + 2j] id, [5 + 2j] logit (j < TOP,
// unordered: the host sorts them).
struct Params { n: u32, top: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
// The logit arrays' length is fixed (VOCAB, Kernels.make `lengths`): a runtime-sized array's robustness clamp costs an
// integer division per lane per load on SwiftShader (BENCHMARKS.md round 7), and this kernel reads every logit 7 times.
@group(0) @binding(3) var<storage, read_write> raw: array<f32, VOCAB>;
@group(0) @binding(4) var<storage, read_write> rec: array<u32>;

#if CHOSEN
@group(0) @binding(5) var<storage, read> token: array<u32>;

@compute @workgroup_size(1)
fn main() {
  let t = token[0];
  rec[3] = t;
  if (t < params.n) { rec[2] = bitcast<u32>(raw[t]); }
}
#else
@group(0) @binding(2) var<storage, read> logits: array<f32, VOCAB>;

override WG: u32 = 256u;
var<workgroup> red: array<f32, WG>;
var<workgroup> above: array<u32, WG>;
var<workgroup> equal: array<u32, WG>;
var<workgroup> n_above_w: u32;

fn reduce(lid: u32, v: f32, is_max: bool) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var st = WG >> 1u; st > 0u; st >>= 1u) {
    if (lid < st) { red[lid] = select(red[lid] + red[lid + st], max(red[lid], red[lid + st]), is_max); }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&red[0]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  var m = -3.4e38;
  for (var i = lid; i < n; i += WG) {
    let x = logits[i];
    raw[i] = x;
    m = max(m, x);
  }
  let mx = reduce(lid, m, true);
  // Compensated (Kahan) sums per thread: with few threads (CPU adapters: 4) one thread adds ~vocab / 4 terms.
  var z = 0.0;
  var comp = 0.0;
  for (var i = lid; i < n; i += WG) {
    let y = exp(logits[i] - mx) - comp;
    let t = z + y;
    comp = (t - z) - y;
    z = t;
  }
  let total = reduce(lid, z, false);

  // The top-th largest key (`prefix`) and how many of the tokens with exactly that key belong to the top (`need`;
  // the rest of the top lies strictly above it).
  let top = min(params.top, n);
  if (top > 0u) {
    var sel = vec2<u32>(0u, top);
    for (var shift = 24u; shift < 32u; shift -= 8u) {
      radix_clear(lid, WG);
      workgroupBarrier();
      for (var i = lid; i < n; i += WG) { radix_count(order_key(logits[i]), sel, shift); }
      workgroupBarrier();
      sel = radix_next(lid, sel, shift);
    }
    let prefix = sel.x;
    let need = sel.y;

    // Each thread's contiguous slice: tokens above the key all go in; tokens at it in index order until `need`.
    let chunk = (n + WG - 1u) / WG;
    let lo = min(lid * chunk, n);
    let hi = min(lo + chunk, n);
    var a = 0u;
    var e = 0u;
    for (var i = lo; i < hi; i++) {
      let k = order_key(logits[i]);
      if (k > prefix) { a++; } else if (k == prefix) { e++; }
    }
    above[lid] = a;
    equal[lid] = e;
    workgroupBarrier();
    if (lid == 0u) {
      var sa = 0u;
      var se = 0u;
      for (var j = 0u; j < WG; j++) {
        let ta = above[j];
        let te = equal[j];
        above[j] = sa;
        equal[j] = se;
        sa += ta;
        se += te;
      }
      n_above_w = sa; // tokens strictly above: the slots before the tied ones
    }
    let n_above = workgroupUniformLoad(&n_above_w);
    var sa = above[lid];
    var se = equal[lid];
    for (var i = lo; i < hi; i++) {
      let x = logits[i];
      let k = order_key(x);
      var slot = top;
      if (k > prefix) {
        slot = sa;
        sa++;
      } else if (k == prefix) {
        if (se < need) { slot = n_above + se; }
        se++;
      }
      if (slot < top) {
        rec[4u + 2u * slot] = i;
        rec[5u + 2u * slot] = bitcast<u32>(x);
      }
    }
  }
  if (lid == 0u) {
    rec[0] = bitcast<u32>(mx);
    rec[1] = bitcast<u32>(total);
  }
}
#endif
