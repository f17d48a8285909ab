// Q5_0: f16 d split out; the rest (5 words): qh (bit j = fifth bit of element j), 16 bytes of nibbles (as Q4_0).
// Value = (q - 16) * d.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let d = w_d(c);
  return vec4<f32>(d, 0.0, d, 0.0);
}
// The 4 nibbles and their fifth bits are joined in one word, then split once (u8x4).
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = c * 5u;
  let qh = w[o];
  let u = w[o + 1u + j];
  return mat2x4<f32>(u8x4((u & 0x0F0F0F0Fu) | fifth_bits(qh >> (4u * j))) - 16.0,
                     u8x4(((u >> 4u) & 0x0F0F0F0Fu) | fifth_bits(qh >> (16u + 4u * j))) - 16.0);
}
