// Q4_1: 20-byte blocks as in the file (5 words): f16 d, f16 m, 16 bytes of nibbles (as Q4_0). Value = q * d + m.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let dm = unpack2x16float(w[c * 5u]);
  return vec4<f32>(dm.x, dm.y, dm.x, dm.y);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let u = w[c * 5u + 1u + j];
  return mat2x4<f32>(vec4<f32>(bits4(u, 0u, 15u)), vec4<f32>(bits4(u, 4u, 15u)));
}
