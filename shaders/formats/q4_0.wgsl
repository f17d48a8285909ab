// Q4_0: 16 bytes of nibbles per block (4 words), f16 scale split out. Byte j: element j (low nibble), j+16 (high).
// Value = (q - 8) * d.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let d = w_d(c);
  return vec4<f32>(d, 0.0, d, 0.0);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let u = w[(c << 2u) + j];
  return mat2x4<f32>(vec4<f32>(bits4(u, 0u, 15u)) - 8.0, vec4<f32>(bits4(u, 4u, 15u)) - 8.0);
}
