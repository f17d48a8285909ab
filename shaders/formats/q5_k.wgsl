// Q5_K: 176-byte super-blocks as in the file (44 words): f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (as Q4_K),
// qh (32 bytes: bit s of byte l is the fifth bit of element l of chunk s), 128 bytes of nibbles (as Q4_K).
@group(0) @binding(8) var<storage, read> w: array<u32>;
// With the scales, w_scales reads the 8 qh words (every chunk of the super-block takes its fifth bits from them).
struct WScales { dm: vec2<f32>, u: vec3<u32>, h0: vec4<u32>, h1: vec4<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 44u;
  return WScales(unpack2x16float(w[o]), vec3<u32>(w[o + 1u], w[o + 2u], w[o + 3u]),
                 vec4<u32>(w[o + 4u], w[o + 5u], w[o + 6u], w[o + 7u]), vec4<u32>(w[o + 8u], w[o + 9u], w[o + 10u], w[o + 11u]));
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  return k4_affine(sc.dm, sc.u, s);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = (c >> 3u) * 44u;
  let s = c & 7u;
  let q = o + 12u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  return mat2x4<f32>(q5_vals(w[q], w[o + 4u + j], shift, s), q5_vals(w[q + 4u], w[o + 8u + j], shift, s));
}
// w_q8 with the qh words from sc (w_scales of the chunk's super-block).
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  let s = c & 7u;
  let q = (c >> 3u) * 44u + 12u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  return mat2x4<f32>(q5_vals(w[q], sc.h0[j], shift, s), q5_vals(w[q + 4u], sc.h1[j], shift, s));
}
// 4 five-bit values from the words of their nibbles (at bit ls of each byte) and fifth bits (bit hs), joined in one
// word (u8x4).
fn q5_vals(l: u32, h: u32, ls: u32, hs: u32) -> vec4<f32> {
  return u8x4(((l >> ls) & 0x0F0F0F0Fu) | (((h >> hs) & 0x01010101u) << 4u));
}
