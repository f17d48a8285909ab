// Q8_0 (weights.wgsl block interface): 32 int8 per block (8 words), its f16 scale split out (SPLIT_SCALE).
@group(0) @binding(8) var<storage, read> w: array<u32>;
fn w_affine(c: u32) -> vec4<f32> {
  let d = w_d(c);
  return vec4<f32>(d, 0.0, d, 0.0);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = c << 3u;
  return mat2x4<f32>(i8x4(w[o + j]), i8x4(w[o + 4u + j]));
}
