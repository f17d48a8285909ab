// Q5_K: 176-byte super-blocks as in the file (44 words): f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (as Q4_K),
// qh (32 bytes: bit s of byte l is the fifth bit of element l of chunk s), 128 bytes of nibbles (as Q4_K).
@group(0) @binding(8) var<storage, read> w: array<u32>;
struct WScales { dm: vec2<f32>, u: vec3<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 44u;
  return WScales(unpack2x16float(w[o]), vec3<u32>(w[o + 1u], w[o + 2u], w[o + 3u]));
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  return k4_affine(sc.dm, sc.u, s);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = (c >> 3u) * 44u;
  let s = c & 7u;
  let q = o + 12u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  // Nibbles and fifth bits of 4 values joined in one word (u8x4).
  return mat2x4<f32>(u8x4(((w[q] >> shift) & 0x0F0F0F0Fu) | (((w[o + 4u + j] >> s) & 0x01010101u) << 4u)),
                     u8x4(((w[q + 4u] >> shift) & 0x0F0F0F0Fu) | (((w[o + 8u + j] >> s) & 0x01010101u) << 4u)));
}
