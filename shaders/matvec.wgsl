// y[row] = dot(W[row, :], x) for the last token row of the step (decode: the only one). W: [n, k] in any
// weights.wgsl format. Each workgroup computes ROWS rows with WG / ROWS threads per row, then reduces in
// workgroup memory. The variants fuse the small ops around a projection into it, so a decoded token needs fewer
// dispatches (each costs a fixed overhead, which dominates small models):
//   NORM: x is the residual stream; the input is rmsnorm(x) * norm_w, which every workgroup recomputes (it reads
//     the whole row anyway). Fuses the RMSNorm before q/k/v, gate/up and the logits.
//   HAS_BIAS: y += bias.
//   ROPE (+ NEOX for the rotate-half pairing): rows are taken in RoPE pairs, both rows of a pair in one workgroup,
//     and the pair is rotated by the token's position before it is written. Fuses RoPE into the q/k projections.
//   Run time (params, linear_out.wgsl): out_at_pos (write row `pos` of a [ctx, n] buffer: the K/V projections
//   write straight into the KV cache) and out_mode (write, residual add, SwiGLU gate). ROPE rotates only rows
//   below rope_rows (fused q/k/v: v is not rotated).
//   SPLIT / SPLIT3 / GLU (linear_out.wgsl): fused projections. GLU takes rows in (gate, up) pairs like ROPE's pairs
//   (PAIRED: the host sets it with ROPE or GLU), so both rows of a pair end in one invocation or workgroup.
//   SOFTCAP: y = cap * tanh(y / cap) (gemma2's final logit soft-capping, on the logits head).
//   LORA: + scale·B·(A·x) per weight row before the epilogue (linear_out.wgsl; the decode step's u is row 0).
//   BLOCKED (every block format): lanes take whole 32-weight chunks (w_dot32a: each chunk's scales applied per
//     16-weight half, not per weight). GROUPED (256-weight super-blocks): a super-block's scale words are read
//     once for its chunks (ROWS4: for all 8; the workgroup layout: per run of up to 8 chunks a lane takes).
//   ROWS4 (CPU adapters): each invocation computes 4 consecutive rows alone (ROWS == 4 * WG), no reduction and no
//     barrier; every input vec4 it loads serves 4 rows (measured ~2x a row per invocation on SwiftShader), and a
//     ROPE pair never leaves the invocation.

struct Params {
  n: u32, k: u32, head_dim: u32, eps: f32, out_mode: u32, out_at_pos: u32, cap: f32, rope_rows: u32,
  split0: u32, split1: u32, lora_r: u32, lora_off: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
#if NORM
@group(0) @binding(5) var<storage, read> norm_w: array<vec4<f32>>;
#endif
#if ROPE
@group(0) @binding(6) var<storage, read> inv_freq: array<f32>;
#endif

override WG: u32 = 64u;
override ROWS: u32 = 4u;
var<workgroup> partial: array<f32, WG>;

// Input element vec4 k4 of the step's row starting at vec4 x0, normalized when NORM (scale = 1/rms).
fn x_at(x0: u32, k4: u32, scale: f32) -> vec4<f32> {
#if NORM
  return x[x0 + k4] * scale * norm_w[k4];
#else
  return x[x0 + k4];
#endif
}

// Output row of local row r in workgroup g. ROPE: local rows 2j, 2j+1 are the two halves of one pair; GLU: they are
// gate row p and up row n/2 + p (n: past the last pair).
fn row_of(g: u32, r: u32) -> u32 {
#if GLU
  let h = params.n >> 1u;
  let p = g * (ROWS >> 1u) + (r >> 1u);
  return select(params.n, p + (r & 1u) * h, p < h);
#elif ROPE
  let half = params.head_dim >> 1u;
  let p = g * (ROWS >> 1u) + (r >> 1u);
  let base = (p / half) * params.head_dim;
  let i = p % half;
#if NEOX
  return base + i + (r & 1u) * half;
#else
  return base + 2u * i + (r & 1u);
#endif
#else
  return g * ROWS + r;
#endif
}

// Row sum of the per-thread partial sums (lanes of one row). SUBGROUPS: the host made tpr the subgroup size, so
// one subgroup is one row and subgroupAdd reduces it without any barrier. Otherwise a tree in workgroup memory.
fn row_sum(lid: u32, lane: u32, tpr: u32, v: f32) -> f32 {
#if SUBGROUPS
  return subgroupAdd(v);
#else
  workgroupBarrier();
  partial[lid] = v;
  workgroupBarrier();
  for (var s = tpr >> 1u; s > 0u; s >>= 1u) {
    if (lane < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  return partial[lid - lane];
#endif
}

#if BLOCKED
// Chunk c (32 weights, scales a: w_affine) with the step's 32 inputs from vec4 k4 on.
fn chunk_dot(a: vec4<f32>, c: u32, k4: u32, x0: u32, scale: f32) -> f32 {
  return w_dot32a(a, c, x_at(x0, k4, scale), x_at(x0, k4 + 1u, scale), x_at(x0, k4 + 2u, scale), x_at(x0, k4 + 3u, scale),
                  x_at(x0, k4 + 4u, scale), x_at(x0, k4 + 5u, scale), x_at(x0, k4 + 6u, scale), x_at(x0, k4 + 7u, scale));
}
#endif

#if GROUPED
// chunk_dot of a super-block format's chunk c, given its super-block's words sc (w_scales).
fn chunk_dotg(sc: WScales, c: u32, k4: u32, x0: u32, scale: f32) -> f32 {
  return w_dot32g(sc, w_affine_at(sc, c & 7u), c, x_at(x0, k4, scale), x_at(x0, k4 + 1u, scale), x_at(x0, k4 + 2u, scale),
                  x_at(x0, k4 + 3u, scale), x_at(x0, k4 + 4u, scale), x_at(x0, k4 + 5u, scale), x_at(x0, k4 + 6u, scale),
                  x_at(x0, k4 + 7u, scale));
}
#endif

#if ROWS4
#if BLOCKED
// Chunk b (32 weights) of each of the 4 rows, whose scales are f0..f3 (w_affine), with the step's 32 inputs there:
// the inputs are loaded once for the 4 rows.
fn chunk4(rows: vec4<u32>, bpr: u32, b: u32, x0: u32, scale: f32,
          f0: vec4<f32>, f1: vec4<f32>, f2: vec4<f32>, f3: vec4<f32>) -> vec4<f32> {
  let k4 = b << 3u;
  let i0 = x_at(x0, k4, scale);
  let i1 = x_at(x0, k4 + 1u, scale);
  let i2 = x_at(x0, k4 + 2u, scale);
  let i3 = x_at(x0, k4 + 3u, scale);
  let i4 = x_at(x0, k4 + 4u, scale);
  let i5 = x_at(x0, k4 + 5u, scale);
  let i6 = x_at(x0, k4 + 6u, scale);
  let i7 = x_at(x0, k4 + 7u, scale);
  let blk = rows * bpr + vec4<u32>(b);
  return vec4<f32>(w_dot32a(f0, blk.x, i0, i1, i2, i3, i4, i5, i6, i7), w_dot32a(f1, blk.y, i0, i1, i2, i3, i4, i5, i6, i7),
                   w_dot32a(f2, blk.z, i0, i1, i2, i3, i4, i5, i6, i7), w_dot32a(f3, blk.w, i0, i1, i2, i3, i4, i5, i6, i7));
}
#endif

#if GROUPED
// chunk4 for a super-block format: the rows' super-block words s0..s3 (w_scales) also give w_q8_at what the format
// keeps there (Q5_K, Q3_K: their high-bit words, read once per super-block instead of once per chunk).
fn chunk4g(rows: vec4<u32>, bpr: u32, b: u32, x0: u32, scale: f32, s0: WScales, s1: WScales, s2: WScales, s3: WScales) -> vec4<f32> {
  let k4 = b << 3u;
  let i0 = x_at(x0, k4, scale);
  let i1 = x_at(x0, k4 + 1u, scale);
  let i2 = x_at(x0, k4 + 2u, scale);
  let i3 = x_at(x0, k4 + 3u, scale);
  let i4 = x_at(x0, k4 + 4u, scale);
  let i5 = x_at(x0, k4 + 5u, scale);
  let i6 = x_at(x0, k4 + 6u, scale);
  let i7 = x_at(x0, k4 + 7u, scale);
  let blk = rows * bpr + vec4<u32>(b);
  let sub = b & 7u;
  return vec4<f32>(w_dot32g(s0, w_affine_at(s0, sub), blk.x, i0, i1, i2, i3, i4, i5, i6, i7),
                   w_dot32g(s1, w_affine_at(s1, sub), blk.y, i0, i1, i2, i3, i4, i5, i6, i7),
                   w_dot32g(s2, w_affine_at(s2, sub), blk.z, i0, i1, i2, i3, i4, i5, i6, i7),
                   w_dot32g(s3, w_affine_at(s3, sub), blk.w, i0, i1, i2, i3, i4, i5, i6, i7));
}
#endif

// Dot products of 4 rows (clamped into range: the caller drops rows >= n) with the step's input row.
fn dot4(rows: vec4<u32>, x0: u32, scale: f32) -> vec4<f32> {
  let k4n = params.k >> 2u;
  var acc = vec4<f32>(0.0);
#if GROUPED
  // 256-weight super-blocks: each row's scale words are read once per super-block (w_scales) and unpacked for each
  // of its 8 chunks (w_affine_at).
  let bpr = params.k >> 5u;
  let spr = bpr >> 3u;
  for (var g = 0u; g < spr; g++) {
    let sb = rows * spr + vec4<u32>(g);
    let s0 = w_scales(sb.x);
    let s1 = w_scales(sb.y);
    let s2 = w_scales(sb.z);
    let s3 = w_scales(sb.w);
    for (var sub = 0u; sub < 8u; sub++) {
      acc += chunk4g(rows, bpr, (g << 3u) + sub, x0, scale, s0, s1, s2, s3);
    }
  }
#elif BLOCKED
  let bpr = params.k >> 5u;
  for (var b = 0u; b < bpr; b++) {
    let blk = rows * bpr + vec4<u32>(b);
    acc += chunk4(rows, bpr, b, x0, scale, w_affine(blk.x), w_affine(blk.y), w_affine(blk.z), w_affine(blk.w));
  }
#else
  for (var k4 = 0u; k4 < k4n; k4++) {
    let xv = x_at(x0, k4, scale);
    let k = k4 << 2u;
    acc += vec4<f32>(dot(w_load4(rows.x, k, params.k), xv), dot(w_load4(rows.y, k, params.k), xv),
                     dot(w_load4(rows.z, k, params.k), xv), dot(w_load4(rows.w, k, params.k), xv));
  }
#endif
  return acc;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let g = flat_workgroup(wid, nwg);
  let r0 = lid << 2u;
  let rows = vec4<u32>(row_of(g, r0), row_of(g, r0 + 1u), row_of(g, r0 + 2u), row_of(g, r0 + 3u));
  if (rows.x >= params.n && rows.y >= params.n && rows.z >= params.n && rows.w >= params.n) { return; }
  let k4n = params.k >> 2u;
  let x0 = (step.n_tokens - 1u) * k4n;
  let pos = step.pos0 + step.n_tokens - 1u;
#if NORM
  var ss = 0.0;
  for (var i = 0u; i < k4n; i++) {
    let v = x[x0 + i];
    ss += dot(v, v);
  }
  let scale = inverseSqrt(ss / f32(params.k) + params.eps);
#else
  let scale = 1.0;
#endif
  var acc = dot4(min(rows, vec4<u32>(params.n - 1u)), x0, scale);
#if LORA
  for (var j = 0u; j < 4u; j++) { if (rows[j] < params.n) { acc[j] += lora_delta(rows[j], 0u); } }
#endif
#if HAS_BIAS
  for (var j = 0u; j < 4u; j++) { if (rows[j] < params.n) { acc[j] += bias[rows[j]]; } }
#endif
#if ROPE
  // Local rows r0, r0+1 and r0+2, r0+3 are two RoPE pairs (row_of).
  let half = params.head_dim >> 1u;
  let p0 = g * (ROWS >> 1u) + (r0 >> 1u);
  if (rows.x < params.rope_rows) { acc = vec4<f32>(rotate_pair(acc.x, acc.y, f32(pos) * inv_freq[p0 % half]), acc.zw); }
  if (rows.z < params.rope_rows) { acc = vec4<f32>(acc.xy, rotate_pair(acc.z, acc.w, f32(pos) * inv_freq[(p0 + 1u) % half])); }
#endif
#if SOFTCAP
  for (var j = 0u; j < 4u; j++) { acc[j] = softcap(acc[j], params.cap); }
#endif
#if GLU
  // acc: (gate, up) of pair p, then of pair p + 1.
  let p = g * (ROWS >> 1u) + (r0 >> 1u);
  let h = params.n >> 1u;
  if (p < h) { put(0u, pos, p, glu(acc.x, acc.y)); }
  if (p + 1u < h) { put(0u, pos, p + 1u, glu(acc.z, acc.w)); }
#else
  for (var j = 0u; j < 4u; j++) {
    if (rows[j] < params.n) { put(0u, pos, rows[j], acc[j]); }
  }
#endif
}
#else
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
#if SUBGROUPS
        @builtin(subgroup_invocation_id) sg_lane: u32,
#endif
        @builtin(local_invocation_index) lid: u32) {
  // tpr == 1 (one thread per row, ROWS == WG) runs without any reduction (CPU adapters use ROWS4 above instead).
  // The branches on tpr are uniform (override constants).
  let tpr = WG / ROWS;
  let r = lid / tpr;
#if SUBGROUPS
  let lane = sg_lane;
#else
  let lane = lid % tpr;
#endif
  let g = flat_workgroup(wid, nwg);
  let row = row_of(g, r);
  let k4n = params.k >> 2u;
  let x0 = (step.n_tokens - 1u) * k4n;
  let pos = step.pos0 + step.n_tokens - 1u;
#if NORM
  var ss = 0.0;
  if (tpr == 1u) {
    for (var i = 0u; i < k4n; i++) {
      let v = x[x0 + i];
      ss += dot(v, v);
    }
  } else {
    // Each row's lanes sum the squares of the whole input row: the same sum in every row.
    for (var i = lane; i < k4n; i += tpr) {
      let v = x[x0 + i];
      ss += dot(v, v);
    }
    ss = row_sum(lid, lane, tpr, ss);
  }
  let scale = inverseSqrt(ss / f32(params.k) + params.eps);
#else
  let scale = 1.0;
#endif
  var acc = 0.0;
  if (row < params.n) {
#if GROUPED
    // Lanes take runs of R chunks inside one super-block: a run reads its scale words once (w_scales) and unpacks
    // each chunk's (w_affine_at). R = 8 (once per super-block) when the row has 8 chunks per lane or more, else the
    // largest power of two that keeps every lane busy.
    let bpr = k4n >> 3u;
    let R = min(8u, 1u << firstLeadingBit(max(bpr / tpr, 1u)));
    let c0 = row * bpr;
    for (var b0 = lane * R; b0 < bpr; b0 += tpr * R) {
      let sc = w_scales((c0 + b0) >> 3u);
      for (var b = b0; b < b0 + R; b++) {
        acc += chunk_dotg(sc, c0 + b, b << 3u, x0, scale);
      }
    }
#elif BLOCKED
    let c0 = (row * params.k) >> 5u;
    for (var b = lane; b < (k4n >> 3u); b += tpr) {
      acc += chunk_dot(w_affine(c0 + b), c0 + b, b << 3u, x0, scale);
    }
#else
    for (var k4 = lane; k4 < k4n; k4 += tpr) {
      acc += dot(w_load4(row, k4 << 2u, params.k), x_at(x0, k4, scale));
    }
#endif
  }
  if (tpr > 1u) { acc = row_sum(lid, lane, tpr, acc); }
#if LORA
  if (row < params.n) { acc += lora_delta(row, 0u); }
#endif
#if HAS_BIAS
  if (row < params.n) { acc += bias[row]; }
#endif
#if PAIRED
  // The pair's other row sits in this workgroup (row_of): swap values through workgroup memory.
  let mate = r ^ 1u;
  workgroupBarrier();
  partial[lid] = acc;
  workgroupBarrier();
  let mv = partial[mate * tpr];
#endif
  if (lane == 0u && row < params.n) {
    var v = acc;
#if ROPE
    if (row < params.rope_rows) {
      let angle = f32(pos) * inv_freq[(g * (ROWS >> 1u) + (r >> 1u)) % (params.head_dim >> 1u)];
      if ((r & 1u) == 0u) { v = rotate_pair(v, mv, angle).x; } else { v = rotate_pair(mv, v, angle).y; }
    }
#endif
#if SOFTCAP
    v = softcap(v, params.cap);
#endif
#if GLU
    // The gate row (even r, row = its pair's index) writes the pair.
    if ((r & 1u) == 0u) { put(0u, pos, row, glu(v, mv)); }
#else
    put(0u, pos, row, v);
#endif
  }
}
#endif
