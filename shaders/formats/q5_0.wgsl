// Q5_0: f16 d split out; the rest (5 words): qh (bit j = fifth bit of element j), 16 bytes of nibbles (as Q4_0).
// Value = (q - 16) * d.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let d = w_d(c);
  return vec4<f32>(d, 0.0, d, 0.0);
}
fn q5_high(qh: u32, first: u32) -> vec4<u32> {
  return ((vec4<u32>(qh) >> (vec4<u32>(0u, 1u, 2u, 3u) + first)) & vec4<u32>(1u)) << vec4<u32>(4u);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = c * 5u;
  let qh = w[o];
  let u = w[o + 1u + j];
  return mat2x4<f32>(vec4<f32>(bits4(u, 0u, 15u) | q5_high(qh, 4u * j)) - 16.0,
                     vec4<f32>(bits4(u, 4u, 15u) | q5_high(qh, 16u + 4u * j)) - 16.0);
}
