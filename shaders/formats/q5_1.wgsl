// Q5_1: 24-byte blocks as in the file (6 words): f16 d, f16 m, qh, 16 bytes of nibbles. Value = q * d + m.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let dm = unpack2x16float(w[c * 6u]);
  return vec4<f32>(dm.x, dm.y, dm.x, dm.y);
}
// The 4 nibbles and their fifth bits are joined in one word, then split once (u8x4).
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = c * 6u;
  let qh = w[o + 1u];
  let u = w[o + 2u + j];
  return mat2x4<f32>(u8x4((u & 0x0F0F0F0Fu) | fifth_bits(qh >> (4u * j))), u8x4(((u >> 4u) & 0x0F0F0F0Fu) | fifth_bits(qh >> (16u + 4u * j))));
}
