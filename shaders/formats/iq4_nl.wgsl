// IQ4_NL: like Q4_0 (f16 d split out, 4 words of nibbles), but a nibble indexes ggml's non-linear grid.
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let d = w_d(c);
  return vec4<f32>(d, 0.0, d, 0.0);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let u = w[(c << 2u) + j];
  return mat2x4<f32>(iq4_grid(bits4(u, 0u, 15u)), iq4_grid(bits4(u, 4u, 15u)));
}
