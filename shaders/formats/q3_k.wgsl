// Q3_K: f16 d split out; the rest (27 words): hmask (32 bytes: bit s of byte l is the high bit of element l of chunk
// s), 64 bytes of 2-bit values (as Q2_K), 12 bytes of 6-bit scales (one per 16 elements, words 24..26).
// Element = d * (scale - 32) * (low2 - (high ? 0 : 4)) = d * (scale - 32) * (low2 + 4 * high) - 4 * d * (scale - 32).
@group(0) @binding(8) var<storage, read> w: array<u32>;
// With the scales, w_scales reads the 8 hmask words (every chunk of the super-block takes its high bits from them).
struct WScales { d: f32, u: vec3<u32>, h0: vec4<u32>, h1: vec4<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 27u;
  return WScales(w_d(g), vec3<u32>(w[o + 24u], w[o + 25u], w[o + 26u]),
                 vec4<u32>(w[o], w[o + 1u], w[o + 2u], w[o + 3u]), vec4<u32>(w[o + 4u], w[o + 5u], w[o + 6u], w[o + 7u]));
}
// Chunk s's two 16-element scales k = 2s, 2s + 1 (6 bits, minus 32): low 4 bits in bytes k % 8 (nibble k / 8), high 2
// bits in bytes 8 + k % 4 (bits 2(k / 4)); for both k the bytes are neighbours in one word and the shifts are equal,
// so one shift and mask per field gives the pair (bytes 0 and 1 of v).
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  let half = 16u * (s & 1u);
  let low = (sc.u[(s >> 1u) & 1u] >> (half + 4u * (s >> 2u))) & 0x0F0Fu;
  let high = (sc.u.z >> (half + 2u * (s >> 1u))) & 0x0303u;
  let v = low | (high << 4u);
  let lo = sc.d * (f32(v & 63u) - 32.0);
  let hi = sc.d * (f32(v >> 8u) - 32.0);
  return vec4<f32>(lo, -4.0 * lo, hi, -4.0 * hi);
}
// low2 + 4 * high of 4 values (0..7; the -4 is the affine's offset), fields joined in one word (u8x4).
fn q3_vals(qw: u32, hw: u32, s: u32) -> vec4<f32> {
  return u8x4(((qw >> (2u * (s & 3u))) & 0x03030303u) | (((hw >> s) & 0x01010101u) << 2u));
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = (c >> 3u) * 27u;
  let s = c & 7u;
  let q = o + 8u + (s >> 2u) * 8u + j;
  return mat2x4<f32>(q3_vals(w[q], w[o + j], s), q3_vals(w[q + 4u], w[o + 4u + j], s));
}
// w_q8 with the hmask words from sc (w_scales of the chunk's super-block).
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  let s = c & 7u;
  let q = (c >> 3u) * 27u + 8u + (s >> 2u) * 8u + j;
  return mat2x4<f32>(q3_vals(w[q], sc.h0[j], s), q3_vals(w[q + 4u], sc.h1[j], s));
}
