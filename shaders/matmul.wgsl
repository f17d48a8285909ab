// y[m, row] = dot(W[row, :], x[m, :]) for m < step.n_tokens (prefill). W: [n, k] in any weights.wgsl format.
// GPUs: register-tiled, a 16x16 workgroup computes a 64 (tokens) x 64 (rows) tile, 4x4 outputs per thread, staging
// 16-wide K slices of x and of the dequantized W in workgroup memory; a block format's weights are dequantized once
// per tile, 8 per w_q8 with their chunk's scales (GROUPED: scale words read once per super-block per thread).
// Variant DIRECT (CPU adapters, where workgroup barriers dominate): each invocation computes a 4 x 4 block straight
// from memory, no workgroup memory and no barrier (the CPU's caches do the reuse that the tiles do on a GPU);
// with BLOCKED (every block format) it applies each 32-weight chunk's scales once to the chunk's partial dots, and
// with GROUPED (K-quants, IQ4_XS) reads a 256-weight super-block's scale words once for its 8 chunks.
// Variant F16 (tiled only; `shader-f16`, Tuning.matmulF16): the staged x and W slices are f16 in workgroup memory
// (half the bytes stored and read per tile) and each thread's 4-weight partial dots are f16 dot products (packed
// f16 arithmetic on GPUs that have it), added into f32 accumulators, so the rounding stays per 4 products and does
// not grow with K. Each staged vec4 of x is scaled by a power of two into [0.5, 1) (exact) and its partial dots are
// scaled back in the f32 sums, so activations of any f32 size fit f16 (a GLU product or a residual stream past
// 65504 would otherwise be inf), and small ones keep f16's full precision instead of going subnormal; weights must
// stay below 16384 (4 products of |x| < 1). ARCHITECTURE.md says why this is the one kernel that computes in f16.
// Output: HAS_BIAS, LORA, SOFTCAP, the run-time output mode and position, and the fused-projection variants SPLIT / SPLIT3 / GLU
// (linear_out.wgsl). GLU: a block of 4 rows (DIRECT) is gate rows p, p+1 and their up rows; a 64-row tile is 32
// gate rows and their 32 up rows, so each thread holds both rows of its pairs.

struct Params {
  n: u32, k: u32, out_mode: u32, out_at_pos: u32, split0: u32, split1: u32, cap: f32, lora_r: u32, lora_off: u32, _p0: u32, _p1: u32, _p2: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;

// Weight row n's result for token m with its LoRA term and its bias.
fn biased(m: u32, n: u32, acc: f32) -> f32 {
  var v = acc;
#if LORA
  v += lora_delta(n, m);
#endif
#if HAS_BIAS
  v += bias[n];
#endif
  return v;
}

// Writes output (token m, row n). SOFTCAP: cap·tanh(y / cap) first (gemma2's final logits, the per-row head).
fn store(m: u32, n: u32, acc: f32) {
#if SOFTCAP
  put(m, step.pos0 + m, n, softcap(biased(m, n, acc), params.cap));
#else
  put(m, step.pos0 + m, n, biased(m, n, acc));
#endif
}

// Writes the GLU pair p of token m from its gate and up results.
fn store_pair(m: u32, p: u32, g: f32, u: f32) {
  put(m, step.pos0 + m, p, glu(biased(m, p, g), biased(m, p + (params.n >> 1u), u)));
}

#if DIRECT
const DWG: u32 = 16u;

// One token's input slice against 4 rows' weights: its 4 partial dots.
fn dots4(x4: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>, w3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(x4, w0), dot(x4, w1), dot(x4, w2), dot(x4, w3));
}

#if BLOCKED
// Chunk b (32 weights) of 4 rows (chunk indices c, scales f0..f3: w_affine) against 4 tokens (x rows t, in vec4s):
// column i of the result is token i's 4 row dots. The chunk's scales are applied once to its partial dots, per
// 16-weight half; each w_q8 call gives 8 weights (4 for the low half, 4 for the high half). Offsets (Q4_1, Q5_1,
// Q4_K, Q5_K, Q2_K mins) multiply the token's input sums over each half.
fn chunk4x4(c: vec4<u32>, t: vec4<u32>, b: u32, f0: vec4<f32>, f1: vec4<f32>, f2: vec4<f32>, f3: vec4<f32>) -> mat4x4<f32> {
  let one = vec4<f32>(1.0);
  var l0 = vec4<f32>(0.0);
  var l1 = vec4<f32>(0.0);
  var l2 = vec4<f32>(0.0);
  var l3 = vec4<f32>(0.0);
  var h0 = vec4<f32>(0.0);
  var h1 = vec4<f32>(0.0);
  var h2 = vec4<f32>(0.0);
  var h3 = vec4<f32>(0.0);
  var sl = vec4<f32>(0.0);
  var sh = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    let q0 = w_q8(c.x, j);
    let q1 = w_q8(c.y, j);
    let q2 = w_q8(c.z, j);
    let q3 = w_q8(c.w, j);
    let k4 = (b << 3u) + j;
    let x0 = x[t.x + k4];
    let x1 = x[t.y + k4];
    let x2 = x[t.z + k4];
    let x3 = x[t.w + k4];
    let y0 = x[t.x + k4 + 4u];
    let y1 = x[t.y + k4 + 4u];
    let y2 = x[t.z + k4 + 4u];
    let y3 = x[t.w + k4 + 4u];
    l0 += dots4(x0, q0[0], q1[0], q2[0], q3[0]);
    l1 += dots4(x1, q0[0], q1[0], q2[0], q3[0]);
    l2 += dots4(x2, q0[0], q1[0], q2[0], q3[0]);
    l3 += dots4(x3, q0[0], q1[0], q2[0], q3[0]);
    h0 += dots4(y0, q0[1], q1[1], q2[1], q3[1]);
    h1 += dots4(y1, q0[1], q1[1], q2[1], q3[1]);
    h2 += dots4(y2, q0[1], q1[1], q2[1], q3[1]);
    h3 += dots4(y3, q0[1], q1[1], q2[1], q3[1]);
    sl += vec4<f32>(dot(x0, one), dot(x1, one), dot(x2, one), dot(x3, one));
    sh += vec4<f32>(dot(y0, one), dot(y1, one), dot(y2, one), dot(y3, one));
  }
  // Per row: scale and offset of each half.
  let slo = vec4<f32>(f0.x, f1.x, f2.x, f3.x);
  let olo = vec4<f32>(f0.y, f1.y, f2.y, f3.y);
  let shi = vec4<f32>(f0.z, f1.z, f2.z, f3.z);
  let ohi = vec4<f32>(f0.w, f1.w, f2.w, f3.w);
  return mat4x4<f32>(l0 * slo + h0 * shi + sl.x * olo + sh.x * ohi, l1 * slo + h1 * shi + sl.y * olo + sh.y * ohi,
                     l2 * slo + h2 * shi + sl.z * olo + sh.z * ohi, l3 * slo + h3 * shi + sl.w * olo + sh.w * ohi);
}
#endif

@compute @workgroup_size(DWG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * DWG;
#if GLU
  let h = params.n >> 1u;
  let row_blocks = (h + 1u) >> 1u;
  let p0 = (idx % row_blocks) << 1u;
  let r = min(vec4<u32>(p0, p0 + 1u, h + p0, h + p0 + 1u), vec4<u32>(params.n - 1u));
#else
  let row_blocks = (params.n + 3u) >> 2u;
  let n0 = (idx % row_blocks) << 2u;
  let r = min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.n - 1u));
#endif
  let m0 = (idx / row_blocks) << 2u;
  let M = step.n_tokens;
  if (m0 >= M) { return; }
  let K = params.k;
  let k4n = K >> 2u;
  // Out-of-range rows and tokens are clamped for the loads (their results are dropped at the store). Named
  // accumulators and loads, no arrays: a software adapter's JIT keeps them in registers (private arrays indexed in
  // loops went through memory: ~2x slower on SwiftShader).
  let t = min(vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(M - 1u)) * k4n;
  // a_i: token m0 + i, rows n0 .. n0 + 3.
  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
#if GROUPED
  // 256-weight super-blocks: each row's scale words are read once per super-block (w_scales) and unpacked for each
  // of its 8 chunks (w_affine_at).
  let bpr = K >> 5u;
  let spr = bpr >> 3u;
  for (var g = 0u; g < spr; g++) {
    let sb = r * spr + vec4<u32>(g);
    let e0 = w_scales(sb.x);
    let e1 = w_scales(sb.y);
    let e2 = w_scales(sb.z);
    let e3 = w_scales(sb.w);
    for (var sub = 0u; sub < 8u; sub++) {
      let b = (g << 3u) + sub;
      let d = chunk4x4(r * bpr + vec4<u32>(b), t, b, w_affine_at(e0, sub), w_affine_at(e1, sub), w_affine_at(e2, sub), w_affine_at(e3, sub));
      a0 += d[0];
      a1 += d[1];
      a2 += d[2];
      a3 += d[3];
    }
  }
#elif BLOCKED
  let bpr = K >> 5u;
  for (var b = 0u; b < bpr; b++) {
    let c = r * bpr + vec4<u32>(b);
    let d = chunk4x4(c, t, b, w_affine(c.x), w_affine(c.y), w_affine(c.z), w_affine(c.w));
    a0 += d[0];
    a1 += d[1];
    a2 += d[2];
    a3 += d[3];
  }
#else
  for (var k4 = 0u; k4 < k4n; k4++) {
    let k = k4 << 2u;
    let w0 = w_load4(r.x, k, K);
    let w1 = w_load4(r.y, k, K);
    let w2 = w_load4(r.z, k, K);
    let w3 = w_load4(r.w, k, K);
    let x0 = x[t.x + k4];
    let x1 = x[t.y + k4];
    let x2 = x[t.z + k4];
    let x3 = x[t.w + k4];
    a0 += dots4(x0, w0, w1, w2, w3);
    a1 += dots4(x1, w0, w1, w2, w3);
    a2 += dots4(x2, w0, w1, w2, w3);
    a3 += dots4(x3, w0, w1, w2, w3);
  }
#endif
  let acc = mat4x4<f32>(a0, a1, a2, a3);
  for (var i = 0u; i < 4u; i++) {
    if (m0 + i >= M) { break; }
#if GLU
    for (var j = 0u; j < 2u; j++) {
      if (p0 + j < h) { store_pair(m0 + i, p0 + j, acc[i][j], acc[i][j + 2u]); }
    }
#else
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < params.n) { store(m0 + i, n0 + j, acc[i][j]); }
    }
#endif
  }
}
#else
const TILE: u32 = 64u;
const BK: u32 = 16u;
#if F16
// A row's slice is 4 vec4<f16> (32 bytes); +1 vec4 of padding makes rows 10 words apart, so the 16 rows one
// instruction reads start in distinct banks.
var<workgroup> xs: array<array<vec4<f16>, BK / 4u + 1u>, TILE>;
var<workgroup> ws: array<array<vec4<f16>, BK / 4u + 1u>, TILE>;
// The power of two each staged x vec4 was divided by (1 KiB).
var<workgroup> xsc: array<array<f32, BK / 4u>, TILE>;

// The exponent e with max |v| in [2^(e-1), 2^e) (0 for a zero vector), clamped so 2^e and 2^-e are normal f32.
fn x_exponent(v: vec4<f32>) -> i32 {
  let a = abs(v);
  return clamp(frexp(max(max(a.x, a.y), max(a.z, a.w))).exp, -125, 126);
}
#else
// +1 column of padding keeps the strided reads below free of bank conflicts.
var<workgroup> xs: array<array<f32, BK + 1u>, TILE>;
var<workgroup> ws: array<array<f32, BK + 1u>, TILE>;
#endif

// Weight row of row lr of tile t (params.n when past the end). GLU: the tile's first half are gate rows, the second
// half their up rows.
fn tile_row(t: u32, lr: u32) -> u32 {
#if GLU
  let h = params.n >> 1u;
  let p = t * (TILE >> 1u) + (lr & (TILE / 2u - 1u));
  return select(params.n, p + (lr / (TILE / 2u)) * h, p < h);
#else
  return min(t * TILE + lr, params.n);
#endif
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let m0 = wid.y * TILE;
  let n0 = wid.x * TILE;
  let M = step.n_tokens;
  let K = params.k;
  // Loader mapping: 256 threads load 64 rows x 4 vec4 of each tile.
  let lr = lid >> 2u;
  let lk = (lid & 3u) << 2u;
  let wr = tile_row(wid.x, lr);
#if BLOCKED
  // A block format is dequantized a 32-weight chunk at a time: at the chunk's first K slice the thread decodes its 8
  // weights of it (one w_q8: elements lk..lk+3 and 16+lk..16+lk+3) with the chunk's scales, writes the first 4 and
  // keeps the other 4 for the next slice. GROUPED: the row's scale words are read once per super-block.
  let bpr = K >> 5u;
  var hi = vec4<f32>(0.0);
#if GROUPED
  var sc: WScales;
#endif
#endif
  var acc: array<array<f32, 4>, 4>;
  for (var kt = 0u; kt < K; kt += BK) {
    let k = kt + lk;
    var xv = vec4<f32>(0.0);
    if (m0 + lr < M && k < K) { xv = x[((m0 + lr) * K + k) >> 2u]; }
    var wv = vec4<f32>(0.0);
#if BLOCKED
    if (wr < params.n) {
      if ((kt & 16u) == 0u) {
        let c = wr * bpr + (kt >> 5u);
#if GROUPED
        if ((kt & 255u) == 0u) { sc = w_scales(c >> 3u); }
        let a = w_affine_at(sc, c & 7u);
        let q = w_q8_at(sc, c, lk >> 2u);
#else
        let a = w_affine(c);
        let q = w_q8(c, lk >> 2u);
#endif
        wv = q[0] * a.x + a.y;
        hi = q[1] * a.z + a.w;
      } else {
        wv = hi;
      }
    }
#else
    if (wr < params.n && k < K) { wv = w_load4(wr, k, K); }
#endif
#if F16
    let xe = x_exponent(xv);
    xs[lr][lk >> 2u] = vec4<f16>(ldexp(xv, vec4<i32>(-xe)));
    xsc[lr][lk >> 2u] = ldexp(1.0, xe);
    ws[lr][lk >> 2u] = vec4<f16>(wv);
    workgroupBarrier();
    for (var k4 = 0u; k4 < BK / 4u; k4++) {
      var a: array<vec4<f16>, 4>;
      var sa: array<f32, 4>;
      var b: array<vec4<f16>, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[lid3.y + 16u * i][k4];
        sa[i] = xsc[lid3.y + 16u * i][k4];
        b[i] = ws[lid3.x + 16u * i][k4];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(f32(dot(a[i], b[j])), sa[i], acc[i][j]); }
      }
    }
#else
    xs[lr][lk] = xv.x; xs[lr][lk + 1u] = xv.y; xs[lr][lk + 2u] = xv.z; xs[lr][lk + 3u] = xv.w;
    ws[lr][lk] = wv.x; ws[lr][lk + 1u] = wv.y; ws[lr][lk + 2u] = wv.z; ws[lr][lk + 3u] = wv.w;
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = xs[lid3.y + 16u * i][kk];
        b[i] = ws[lid3.x + 16u * i][kk];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += a[i] * b[j]; }
      }
    }
#endif
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid3.y + 16u * i;
    if (m >= M) { continue; }
#if GLU
    // Local rows lid3.x + 16j: j = 0, 1 gate rows, j = 2, 3 their up rows.
    for (var j = 0u; j < 2u; j++) {
      let p = wid.x * (TILE >> 1u) + lid3.x + 16u * j;
      if (p < (params.n >> 1u)) { store_pair(m, p, acc[i][j], acc[i][j + 2u]); }
    }
#else
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid3.x + 16u * j;
      if (n < params.n) { store(m, n, acc[i][j]); }
    }
#endif
  }
}
#endif
