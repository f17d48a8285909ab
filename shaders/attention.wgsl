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
// KV_F16 / KV_Q8: the caches are in that format (kv.wgsl), bound as u32 words at 6 and 7 in both variants.
// SPLIT_K (decode, one query token; flash-decoding): the key range is cut into n_splits() chunks, one workgroup
// (SERIAL: invocation) per (head, chunk); each writes its running max, sum and unnormalized output to `part`, and
// the MERGE variant (one workgroup per head) rescales and adds them. With one chunk (short contexts) the first pass
// writes the output itself and the host skips the merge dispatch, so the split costs nothing until it pays.

struct Params {
  n_heads: u32, n_kv_heads: u32, head_dim: u32, window: u32, scale: f32, softcap: f32,
  chunk: u32, max_splits: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
#if !MERGE
@group(0) @binding(2) var<storage, read> q: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
#if SEGMENTS
@group(0) @binding(8) var<storage, read> segs: array<u32>;
#endif
#if SPLIT_K
@group(0) @binding(9) var<storage, read_write> part: array<f32>;
#endif
#if MERGE
@group(0) @binding(9) var<storage, read> part: array<f32>;
#endif

#if !SEGMENTS
// Chunks of the key range at this step's cache length (the host computes the same number for the grid). Not in
// SEGMENTS kernels: a `step.` they never use would be bound (kernels.ts binds `step` when the code names it).
fn n_splits() -> u32 {
  return clamp((step.kv_len + params.chunk - 1u) / params.chunk, 1u, params.max_splits);
}
#endif

// Keys query t attends to: [begin, end); SPLIT_K: chunk s of them.
fn key_range(t: u32, s: u32) -> vec2<u32> {
#if SEGMENTS
  return vec2<u32>(segs[2u * t], segs[2u * t + 1u]);
#else
  let n_keys = step.pos0 + t + 1u;
  let b = select(0u, n_keys - params.window, params.window > 0u && n_keys > params.window);
#if SPLIT_K
  let c = (n_keys - b + n_splits() - 1u) / n_splits();
  return vec2<u32>(min(n_keys, b + s * c), min(n_keys, b + (s + 1u) * c));
#else
  return vec2<u32>(b, n_keys);
#endif
#endif
}

// Offset of (head h, chunk s)'s partial result in `part`: max, sum, then head_dim unnormalized outputs.
fn part_base(h: u32, s: u32) -> u32 {
  return (h * params.max_splits + s) * (params.head_dim + 2u);
}

// KV_F16 / KV_Q8: k_load4, v_load4, k_load, v_load are kv.wgsl's, over these.
#if KV_F16
@group(0) @binding(6) var<storage, read> kc: array<u32>;
@group(0) @binding(7) var<storage, read> vc: array<u32>;
#elif KV_Q8
@group(0) @binding(6) var<storage, read> kc: array<u32>;
@group(0) @binding(7) var<storage, read> vc: array<u32>;
#endif

#if MERGE
const MWG: u32 = 64u;
@compute @workgroup_size(MWG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let ns = n_splits();
  var m = -3.0e38;
  for (var s = 0u; s < ns; s++) { m = max(m, part[part_base(h, s)]); }
  var l = 0.0;
  for (var s = 0u; s < ns; s++) { l += part[part_base(h, s) + 1u] * exp(part[part_base(h, s)] - m); }
  for (var d = lid; d < params.head_dim; d += MWG) {
    var a = 0.0;
    for (var s = 0u; s < ns; s++) { a += part[part_base(h, s) + 2u + d] * exp(part[part_base(h, s)] - m); }
    out[h * params.head_dim + d] = a / l;
  }
}
#elif SERIAL
// head_dim % 4 == 0 here (checked on the CPU): whole vec4s, so the per-key loops are a quarter as long.
#if !KV_F16
#if !KV_Q8
@group(0) @binding(6) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> v4: array<vec4<f32>>;
// f32 caches: vec4 index i of the flat cache (kv_dim is a multiple of 4).
fn k_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> { return k4[(j * kv_dim + e) >> 2u]; }
fn v_load4(j: u32, e: u32, kv_dim: u32) -> vec4<f32> { return v4[(j * kv_dim + e) >> 2u]; }
#endif
#endif
const SWG: u32 = 4u;
const MAX_HD4: u32 = 64u;

@compute @workgroup_size(SWG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * SWG;
  let h = idx % params.n_heads;
#if SPLIT_K
  let t = 0u;
  let s = idx / params.n_heads;
  if (s >= n_splits()) { return; }
#else
  let t = idx / params.n_heads;
  let s = 0u;
  if (t >= step.n_tokens) { return; }
#endif
  let hd4 = params.head_dim >> 2u;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  let q_base = (t * params.n_heads + h) * params.head_dim;
  let kv_dim = params.n_kv_heads * params.head_dim;
  let kv_off = kvh * params.head_dim;
  var qs: array<vec4<f32>, MAX_HD4>;
  var acc: array<vec4<f32>, MAX_HD4>;
  for (var d = 0u; d < hd4; d++) {
    let b = q_base + 4u * d;
    qs[d] = vec4<f32>(q[b], q[b + 1u], q[b + 2u], q[b + 3u]) * params.scale;
  }
  let kr = key_range(t, s);
  var m_run = -3.0e38;
  var l_run = 0.0;
  // Four keys per step: one running-max update, one rescale of the accumulators and 5 exp() per 4 keys instead
  // of 2 exp() and a rescale per key (the per-key bookkeeping dominated small heads).
  let n4 = kr.x + ((kr.y - kr.x) & ~3u);
  for (var j = kr.x; j < n4; j += 4u) {
    var sc = vec4<f32>(0.0);
    for (var d = 0u; d < hd4; d++) {
      let qd = qs[d];
      let e = kv_off + 4u * d;
      sc += vec4<f32>(dot(qd, k_load4(j, e, kv_dim)), dot(qd, k_load4(j + 1u, e, kv_dim)),
                      dot(qd, k_load4(j + 2u, e, kv_dim)), dot(qd, k_load4(j + 3u, e, kv_dim)));
    }
    if (params.softcap > 0.0) {
      sc = vec4<f32>(softcap(sc.x, params.softcap), softcap(sc.y, params.softcap), softcap(sc.z, params.softcap), softcap(sc.w, params.softcap));
    }
    let m_new = max(m_run, max(max(sc.x, sc.y), max(sc.z, sc.w)));
    let alpha = exp(m_run - m_new);
    let p = exp(sc - vec4<f32>(m_new));
    l_run = l_run * alpha + (p.x + p.y + p.z + p.w);
    m_run = m_new;
    for (var d = 0u; d < hd4; d++) {
      let e = kv_off + 4u * d;
      acc[d] = acc[d] * alpha + p.x * v_load4(j, e, kv_dim) + p.y * v_load4(j + 1u, e, kv_dim) +
               p.z * v_load4(j + 2u, e, kv_dim) + p.w * v_load4(j + 3u, e, kv_dim);
    }
  }
  for (var j = n4; j < kr.y; j++) {
    var sc = 0.0;
    for (var d = 0u; d < hd4; d++) { sc += dot(qs[d], k_load4(j, kv_off + 4u * d, kv_dim)); }
    if (params.softcap > 0.0) { sc = softcap(sc, params.softcap); }
    let m_new = max(m_run, sc);
    let alpha = exp(m_run - m_new);
    let p = exp(sc - m_new);
    l_run = l_run * alpha + p;
    m_run = m_new;
    for (var d = 0u; d < hd4; d++) { acc[d] = acc[d] * alpha + p * v_load4(j, kv_off + 4u * d, kv_dim); }
  }
#if SPLIT_K
  if (n_splits() > 1u) {
    let pb = part_base(h, s);
    part[pb] = m_run;
    part[pb + 1u] = l_run;
    for (var d = 0u; d < hd4; d++) {
      let o = acc[d];
      part[pb + 2u + 4u * d] = o.x; part[pb + 3u + 4u * d] = o.y; part[pb + 4u + 4u * d] = o.z; part[pb + 5u + 4u * d] = o.w;
    }
    return;
  }
#endif
  for (var d = 0u; d < hd4; d++) {
    let b = q_base + 4u * d;
    let o = acc[d] / l_run;
    out[b] = o.x; out[b + 1u] = o.y; out[b + 2u] = o.z; out[b + 3u] = o.w;
  }
}
#else
#if !KV_F16
#if !KV_Q8
@group(0) @binding(4) var<storage, read> k_cache: array<f32>;
@group(0) @binding(5) var<storage, read> v_cache: array<f32>;
fn k_load(j: u32, e: u32, kv_dim: u32) -> f32 { return k_cache[j * kv_dim + e]; }
fn v_load(j: u32, e: u32, kv_dim: u32) -> f32 { return v_cache[j * kv_dim + e]; }
#endif
#endif
const WG: u32 = 64u;
const MAX_HD: u32 = 256u;
// Each thread owns MAX_HD / WG output dims at most.
const DPT: u32 = MAX_HD / 64u;
var<workgroup> qs: array<f32, MAX_HD>;
var<workgroup> p: array<f32, WG>;
var<workgroup> red: array<f32, WG>;

// Max (is_max) or sum of v over the workgroup, the same value in every invocation; ends with a barrier, so `red` is
// free again. SUBGROUPS: subgroupMax/Add, then one value per subgroup (subgroup g taken to be invocations g·size ..
// (g+1)·size-1, as 1-D workgroups are laid out where we know of; the spec does not promise it): two barriers for
// any subgroup size instead of log2(WG) + 1.
fn wg_reduce(lid: u32, v: f32, is_max: bool, sg_lane: u32, sg_size: u32) -> f32 {
#if SUBGROUPS
  let sv = select(subgroupAdd(v), subgroupMax(v), is_max);
  if (sg_lane == 0u) { red[lid / sg_size] = sv; }
  workgroupBarrier();
  var r = red[0];
  for (var j = 1u; j < (WG + sg_size - 1u) / sg_size; j++) { r = select(r + red[j], max(r, red[j]), is_max); }
#else
  red[lid] = v;
  workgroupBarrier();
  for (var st = WG >> 1u; st > 0u; st >>= 1u) {
    if (lid < st) { red[lid] = select(red[lid] + red[lid + st], max(red[lid], red[lid + st]), is_max); }
    workgroupBarrier();
  }
  let r = red[0];
#endif
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32
#if SUBGROUPS
        , @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32
#endif
        ) {
#if !SUBGROUPS
  let sg_lane = 0u;
  let sg_size = 1u;
#endif
  let h = wid.x;
  let t = wid.y;
  let s = wid.z;
  let hd = params.head_dim;
  let kvh = h / (params.n_heads / params.n_kv_heads);
  let q_base = (t * params.n_heads + h) * hd;
  let kv_dim = params.n_kv_heads * hd;
  let kv_off = kvh * hd;
  for (var d = lid; d < hd; d += WG) { qs[d] = q[q_base + d] * params.scale; }
  workgroupBarrier();

  let kr = key_range(t, s);
  let n_keys = kr.y;
  var m_run = -3.0e38;
  var l_run = 0.0;
  var acc: array<f32, DPT>;
  for (var j0 = kr.x; j0 < n_keys; j0 += WG) {
    let j = j0 + lid;
    var sc = -3.0e38;
    if (j < n_keys) {
      sc = 0.0;
      for (var d = 0u; d < hd; d++) { sc += qs[d] * k_load(j, kv_off + d, kv_dim); }
      if (params.softcap > 0.0) { sc = softcap(sc, params.softcap); }
    }
    let m_new = max(m_run, wg_reduce(lid, sc, true, sg_lane, sg_size));
    var e = 0.0;
    if (j < n_keys) { e = exp(sc - m_new); }
    p[lid] = e;
    let alpha = exp(m_run - m_new);
    l_run = l_run * alpha + wg_reduce(lid, e, false, sg_lane, sg_size);
    m_run = m_new;
    let n_here = min(WG, n_keys - j0);
    for (var i = 0u; i < DPT; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < n_here; jj++) {
          a += p[jj] * v_load(j0 + jj, kv_off + d, kv_dim);
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
#if SPLIT_K
  if (n_splits() > 1u) {
    let pb = part_base(h, s);
    if (lid == 0u) {
      part[pb] = m_run;
      part[pb + 1u] = l_run;
    }
    for (var i = 0u; i < DPT; i++) {
      let d = lid + i * WG;
      if (d < hd) { part[pb + 2u + d] = acc[i]; }
    }
    return;
  }
#endif
  for (var i = 0u; i < DPT; i++) {
    let d = lid + i * WG;
    if (d < hd) { out[q_base + d] = acc[i] / l_run; }
  }
}
#endif
