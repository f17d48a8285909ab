// Q5_1: 24-byte blocks as in the file (6 words): f16 d, f16 m, qh, 16 bytes of nibbles. Value = q * d + m.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let dm = unpack2x16float(w[c * 6u]);
  return vec4<f32>(dm.x, dm.y, dm.x, dm.y);
}
fn q5_high(qh: u32, first: u32) -> vec4<u32> {
  return ((vec4<u32>(qh) >> (vec4<u32>(0u, 1u, 2u, 3u) + first)) & vec4<u32>(1u)) << vec4<u32>(4u);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = c * 6u;
  let qh = w[o + 1u];
  let u = w[o + 2u + j];
  return mat2x4<f32>(vec4<f32>(bits4(u, 0u, 15u) | q5_high(qh, 4u * j)), vec4<f32>(bits4(u, 4u, 15u) | q5_high(qh, 16u + 4u * j)));
}
