// Causal attention over the KV cache, one workgroup per (query token, head), streaming softmax.
// q: [n_tokens, n_heads * hd]; k_cache, v_cache: [ctx, n_kv_heads * hd]; out like q.
// Query t sits at position pos0 + t and sees cache rows 0 ..= pos0 + t, or with a sliding window (params.window > 0)
// only the last `window` of them (pos0 + t - window + 1 ..= pos0 + t): the cache keeps every position, so prefix reuse
// and the prefix cache need nothing special, and a windowed layer reads at most `window` keys. Scores are q.k * scale,
// soft-capped (cap * tanh(s / cap)) when params.softcap > 0 (gemma2). GQA: head h reads kv head
// h / (n_heads / n_kv_heads). Keys are taken WG at a time: each thread scores one key, then the chunk's
// probabilities update a running max/sum and the per-dimension accumulators (online softmax).
// Variant SEGMENTS (encoders): no cache and no causality; query t sees the keys segs[2t] .. segs[2t+1]-1 of k/v
// (its own sequence in a packed batch of several), so sequences in one batch never see each other.
// Variant SERIAL (CPU adapters, where workgroup barriers dominate): one invocation per (query token, head) walks
// the keys alone, with the same online softmax one key at a time, and no barrier at all.

struct Params { n_heads: u32, n_kv_heads: u32, head_dim: u32, window: u32, scale: f32, softcap: f32, _pad2: u32, _pad3: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#if SEGMENTS
@group(0) @binding(8) var<storage, read> segs: array<u32>;
#endif

// Keys query t attends to: [begin, end).
fn key_range(t: u32) -> vec2<u32> {
#if SEGMENTS
  return vec2<u32>(segs[2u * t], segs[2u * t + 1u]);
#else
  let n_keys = step.pos0 + t + 1u;
  return vec2<u32>(select(0u, n_keys - params.window, params.window > 0u && n_keys > params.window), n_keys);
#endif
}

#if SERIAL
// head_dim % 4 == 0 here (checked on the CPU): whole vec4s, so the per-key loops are a quarter as long.
@group(0) @binding(6) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> v4: array<vec4<f32>>;
const SWG: u32 = 4u;
const MAX_HD4: u32 = 64u;

@compute @workgroup_size(SWG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * SWG;
  let h = idx % params.n_heads;
  let t = idx / params.n_heads;
  if (t >= step.n_tokens) { return; }
  let hd4 = params.head_dim >> 2u;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  let q_base = (t * params.n_heads + h) * params.head_dim;
  let kv_stride4 = params.n_kv_heads * hd4;
  let kv_off4 = kvh * hd4;
  var qs: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < hd4; d++) {
    let b = q_base + 4u * d;
    qs[d] = vec4<f32>(q[b], q[b + 1u], q[b + 2u], q[b + 3u]) * params.scale;
  }
  let kr = key_range(t);
  var m_run = -3.0e38;
  var l_run = 0.0;
  // Four keys per step: one running-max update, one rescale of the accumulators and 5 exp() per 4 keys instead
  // of 2 exp() and a rescale per key (the per-key bookkeeping dominated small heads).
  let n4 = kr.x + ((kr.y - kr.x) & ~3u);
  for (var j = kr.x; j < n4; j += 4u) {
    let kb = j * kv_stride4 + kv_off4;
    var s = vec4<f32>(0.0);
    for (var d = 0u; d < hd4; d++) {
      let qd = qs[d];
      s += vec4<f32>(dot(qd, k4[kb + d]), dot(qd, k4[kb + kv_stride4 + d]),
                     dot(qd, k4[kb + 2u * kv_stride4 + d]), dot(qd, k4[kb + 3u * kv_stride4 + d]));
    }
    if (params.softcap > 0.0) {
      s = vec4<f32>(softcap(s.x, params.softcap), softcap(s.y, params.softcap), softcap(s.z, params.softcap), softcap(s.w, params.softcap));
    }
    let m_new = max(m_run, max(max(s.x, s.y), max(s.z, s.w)));
    let alpha = exp(m_run - m_new);
    let e = exp(s - vec4<f32>(m_new));
    l_run = l_run * alpha + (e.x + e.y + e.z + e.w);
    m_run = m_new;
    for (var d = 0u; d < hd4; d++) {
      acc[d] = acc[d] * alpha + e.x * v4[kb + d] + e.y * v4[kb + kv_stride4 + d] +
               e.z * v4[kb + 2u * kv_stride4 + d] + e.w * v4[kb + 3u * kv_stride4 + d];
    }
  }
  for (var j = n4; j < kr.y; j++) {
    let kb = j * kv_stride4 + kv_off4;
    var s = 0.0;
    for (var d = 0u; d < hd4; d++) { s += dot(qs[d], k4[kb + d]); }
    if (params.softcap > 0.0) { s = softcap(s, params.softcap); }
    let m_new = max(m_run, s);
    let alpha = exp(m_run - m_new);
    let e = exp(s - m_new);
    l_run = l_run * alpha + e;
    m_run = m_new;
    for (var d = 0u; d < hd4; d++) { acc[d] = acc[d] * alpha + e * v4[kb + d]; }
  }
  for (var d = 0u; d < hd4; d++) {
    let b = q_base + 4u * d;
    let o = acc[d] / l_run;
    out[b] = o.x; out[b + 1u] = o.y; out[b + 2u] = o.z; out[b + 3u] = o.w;
  }
}
#else
@group(0) @binding(4) var<storage, read> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read> v_cache: array<f32>;
const WG: u32 = 64u;
const MAX_HD: u32 = 256u;
// Each thread owns MAX_HD / WG output dims at most.
const DPT: u32 = MAX_HD / 64u;
var<workgroup> qs: array<f32, MAX_HD>;
var<workgroup> p: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let hd = params.head_dim;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  let q_base = (t * params.n_heads + h) * hd;
  let kv_stride = params.n_kv_heads * hd;
  let kv_off = kvh * hd;
  for (var d = lid; d < hd; d += WG) { qs[d] = q[q_base + d] * params.scale; }
  workgroupBarrier();

  let kr = key_range(t);
  let n_keys = kr.y;
  var m_run = -3.0e38;
  var l_run = 0.0;
  var acc: array<f32, DPT>;
  for (var j0 = kr.x; j0 < n_keys; j0 += WG) {
    let j = j0 + lid;
    var s = -3.0e38;
    if (j < n_keys) {
      s = 0.0;
      let kb = j * kv_stride + kv_off;
      for (var d = 0u; d < hd; d++) { s += qs[d] * k_cache[kb + d]; }
      if (params.softcap > 0.0) { s = softcap(s, params.softcap); }
    }
    red[lid] = s;
    workgroupBarrier();
    for (var st = WG >> 1u; st > 0u; st >>= 1u) {
      if (lid < st) { red[lid] = max(red[lid], red[lid + st]); }
      workgroupBarrier();
    }
    let m_new = max(m_run, red[0]);
    workgroupBarrier();
    var e = 0.0;
    if (j < n_keys) { e = exp(s - m_new); }
    p[lid] = e;
    red[lid] = e;
    workgroupBarrier();
    for (var st = WG >> 1u; st > 0u; st >>= 1u) {
      if (lid < st) { red[lid] += red[lid + st]; }
      workgroupBarrier();
    }
    let alpha = exp(m_run - m_new);
    l_run = l_run * alpha + red[0];
    m_run = m_new;
    let n_here = min(WG, n_keys - j0);
    for (var i = 0u; i < DPT; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < n_here; jj++) {
          a += p[jj] * v_cache[(j0 + jj) * kv_stride + kv_off + d];
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < hd) { out[q_base + d] = acc[i] / l_run; }
  }
}
#endif
