// Weight access for every storage format; prepended to kernels that read a weight matrix.
// Layout (src/gpu/weights.ts, src/formats/weight-formats.ts): row-major [rows, cols], cols % 4 == 0.
// `w_load4(row, k, cols)` returns W[row, k .. k+3] (k % 4 == 0) as f32.
// W_FIXED (float formats): `w` has the fixed length W_LEN (Kernels.make `lengths`: 4-element units) instead of a
// runtime size, so the robustness clamp of each load is against a constant rather than arrayLength(w), which
// SwiftShader computes with an integer division per lane per load (decode_layer.wgsl, BENCHMARKS.md round 7).
// Float formats are below. A block format (BLOCKED) is one file, shaders/formats/<id>.wgsl, that declares `w` and
// gives, for 32-element chunk c of the flat tensor (c = element / 32):
//   its scales: w_affine(c) -> vec4(scale_lo, offset_lo, scale_hi, offset_hi): element = q * scale + offset, "lo"
//     for the chunk's elements 0..15 and "hi" for 16..31 (K-quants with 16-element sub-blocks have two scales per
//     chunk). A 256-element super-block format (GROUPED: K-quants, IQ4_XS; a super-block is 8 chunks) instead
//     gives WScales, w_scales(g) (reads super-block g's scale words, once) and w_affine_at(sc, s) (unpacks chunk
//     s's affine from them, no memory access); w_affine is then built here. The projection kernels (matvec,
//     matmul, every launch layout) call w_scales once per super-block (or run of chunks) and w_affine_at per chunk;
//   w_q8(c, j) -> mat2x4: the raw values q of elements 4j..4j+3 (column 0) and 16+4j..16+4j+3 (column 1), j < 4
//     (the pairing of ggml's 4-bit blocks, where one byte holds elements j and j+16). GROUPED formats also give
//     w_q8_at(sc, c, j): the same values given the chunk's super-block words sc = w_scales(c / 8), where a format
//     keeps words every chunk of the super-block reads (Q5_K's qh, Q3_K's hmask: 8 words, read once per super-block
//     instead of twice per w_q8 call; the others return w_q8). The projection kernels use it wherever they hold sc.
// From those this file builds w_load4 (element access: embedding rows) and w_dot32a (a chunk's dot with 32 inputs,
// its scales applied once per 16-element half, not per weight) for the kernels. SPLIT_SCALE: the format's f16 block scale lives in its own
// array (`w_d(block)`), so the rest of each block is whole u32 words.

#if FMT_F32
#if W_FIXED
@group(0) @binding(8) var<storage, read> w: array<vec4<f32>, W_LEN>;
#else
@group(0) @binding(8) var<storage, read> w: array<vec4<f32>>;
#endif
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  return w[(row * cols + k) >> 2u];
}
#elif FMT_F16
#if W_FIXED
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>, W_LEN>;
#else
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>>;
#endif
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let p = w[(row * cols + k) >> 2u];
  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));
}
#elif FMT_BF16
#if W_FIXED
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>, W_LEN>;
#else
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>>;
#endif
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  // bf16 is the top half of an f32: shift it into place.
  let p = w[(row * cols + k) >> 2u];
  return vec4<f32>(bitcast<f32>(p.x << 16u), bitcast<f32>(p.x & 0xffff0000u),
                   bitcast<f32>(p.y << 16u), bitcast<f32>(p.y & 0xffff0000u));
}
#endif

#if SPLIT_SCALE
@group(0) @binding(9) var<storage, read> w_scale: array<u32>;
fn w_d(b: u32) -> f32 {
  let p = unpack2x16float(w_scale[b >> 1u]);
  return select(p.x, p.y, (b & 1u) == 1u);
}
#endif

#if BLOCKED
#if GROUPED
fn w_affine(c: u32) -> vec4<f32> {
  return w_affine_at(w_scales(c >> 3u), c & 7u);
}
#endif

fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let e = row * cols + k;
  let c = e >> 5u;
  let i = (e >> 2u) & 7u;
  let a = w_affine(c);
  let q = w_q8(c, i & 3u);
  if (i < 4u) { return q[0] * a.x + a.y; }
  return q[1] * a.z + a.w;
}

// Dot of chunk c, whose scales are a (w_affine), with its 32 inputs xs0..xs7 (vec4 each).
fn w_dot32a(a: vec4<f32>, c: u32, xs0: vec4<f32>, xs1: vec4<f32>, xs2: vec4<f32>, xs3: vec4<f32>,
            xs4: vec4<f32>, xs5: vec4<f32>, xs6: vec4<f32>, xs7: vec4<f32>) -> f32 {
  return w_dot32q(a, w_q8(c, 0u), w_q8(c, 1u), w_q8(c, 2u), w_q8(c, 3u), xs0, xs1, xs2, xs3, xs4, xs5, xs6, xs7);
}

#if GROUPED
// w_dot32a with the chunk's values from w_q8_at (words of the super-block read with its scales, in sc).
fn w_dot32g(sc: WScales, a: vec4<f32>, c: u32, xs0: vec4<f32>, xs1: vec4<f32>, xs2: vec4<f32>, xs3: vec4<f32>,
            xs4: vec4<f32>, xs5: vec4<f32>, xs6: vec4<f32>, xs7: vec4<f32>) -> f32 {
  return w_dot32q(a, w_q8_at(sc, c, 0u), w_q8_at(sc, c, 1u), w_q8_at(sc, c, 2u), w_q8_at(sc, c, 3u), xs0, xs1, xs2, xs3, xs4, xs5, xs6, xs7);
}
#endif

// The dot of a chunk (scales a, raw values q0..q3 as w_q8 gives them) with its 32 inputs.
fn w_dot32q(a: vec4<f32>, q0: mat2x4<f32>, q1: mat2x4<f32>, q2: mat2x4<f32>, q3: mat2x4<f32>, xs0: vec4<f32>, xs1: vec4<f32>,
            xs2: vec4<f32>, xs3: vec4<f32>, xs4: vec4<f32>, xs5: vec4<f32>, xs6: vec4<f32>, xs7: vec4<f32>) -> f32 {
  let lo = dot(q0[0], xs0) + dot(q1[0], xs1) + dot(q2[0], xs2) + dot(q3[0], xs3);
  let hi = dot(q0[1], xs4) + dot(q1[1], xs5) + dot(q2[1], xs6) + dot(q3[1], xs7);
  let one = vec4<f32>(1.0);
  return a.x * lo + a.z * hi + a.y * dot(xs0 + xs1 + xs2 + xs3, one) + a.w * dot(xs4 + xs5 + xs6 + xs7, one);
}

// Shared unpackers: the 4 bytes of a word as signed / unsigned values, its low / high nibbles, 2-bit fields.
fn i8x4(u: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(u) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
fn bits4(u: u32, shift: u32, mask: u32) -> vec4<u32> {
  return (vec4<u32>(u) >> (vec4<u32>(0u, 8u, 16u, 24u) + shift)) & vec4<u32>(mask);
}
// The 4 bytes of a word as f32. Formats whose values are split over two bit fields (Q6_K, Q5_K, Q3_K, Q5_0, Q5_1)
// join the fields of 4 values in one u32 first (masks like 0x0F0F0F0F act on the 4 bytes at once), then split the
// word once: about half the vector operations of splitting each field.
fn u8x4(u: u32) -> vec4<f32> {
  return vec4<f32>(bits4(u, 0u, 255u));
}
// Bits 0-3 of n as bit 4 of bytes 0-3: the fifth bits of 4 nibbles (Q5_0, Q5_1), to OR into their word. The product
// n·(1 + 2^7 + 2^14 + 2^21) puts bit i at 8i (its 4 shifted copies do not overlap, so nothing carries).
fn fifth_bits(n: u32) -> u32 {
  return (((n & 15u) * 0x00204081u) & 0x01010101u) << 4u;
}
// ggml's kvalues_iq4nl: the IQ4_NL / IQ4_XS grid.
const IQ4NL_GRID = array<f32, 16>(-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0, 1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
fn iq4_grid(n: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(IQ4NL_GRID[n.x], IQ4NL_GRID[n.y], IQ4NL_GRID[n.z], IQ4NL_GRID[n.w]);
}
// Q4_K / Q5_K: chunk s's affine from d, dmin and the 3 words of packed 6-bit (scale, min) pairs (ggml's
// get_scale_min_k4: chunks 0..3 in the low 6 bits of bytes s and s + 4; chunks 4..7 split over byte s + 4's nibbles
// and the top 2 bits of bytes s - 4 and s).
fn k4_affine(dm: vec2<f32>, u: vec3<u32>, s: u32) -> vec4<f32> {
  let t = 8u * (s & 3u);
  var sm: vec2<u32>;
  if (s < 4u) {
    sm = vec2<u32>((u.x >> t) & 63u, (u.y >> t) & 63u);
  } else {
    sm = vec2<u32>(((u.z >> t) & 15u) | (((u.x >> (t + 6u)) & 3u) << 4u), ((u.z >> (t + 4u)) & 15u) | (((u.y >> (t + 6u)) & 3u) << 4u));
  }
  let a = vec2<f32>(dm.x * f32(sm.x), -(dm.y * f32(sm.y)));
  return vec4<f32>(a, a);
}
#endif
