// Weight access for every storage format; prepended to kernels that read a weight matrix.
// Exactly one FMT_* define is set. Layout (src/gpu/weights.ts): row-major [rows, cols], cols % 4 == 0;
// quantized blocks are split into a quants array and an f16 scales array so every load is 4-byte aligned.
// `w_load4(row, k, cols)` returns W[row, k .. k+3] (k % 4 == 0) as f32. Block formats also give the unscaled
// values `w_raw4` and the block's scale `w_scale_at(element / 32)`, so a dot product over a block can apply its
// scale once (matvec.wgsl BLOCKED).

#if FMT_F32
@group(0) @binding(8) var<storage, read> w: array<vec4<f32>>;
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  return w[(row * cols + k) >> 2u];
}
#elif FMT_F16
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>>;
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let p = w[(row * cols + k) >> 2u];
  return vec4<f32>(unpack2x16float(p.x), unpack2x16float(p.y));
}
#elif FMT_BF16
@group(0) @binding(8) var<storage, read> w: array<vec2<u32>>;
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  // bf16 is the top half of an f32: shift it into place.
  let p = w[(row * cols + k) >> 2u];
  return vec4<f32>(bitcast<f32>(p.x << 16u), bitcast<f32>(p.x & 0xffff0000u),
                   bitcast<f32>(p.y << 16u), bitcast<f32>(p.y & 0xffff0000u));
}
#elif FMT_Q8_0
// 32 int8 per block (8 words), one f16 scale per block.
@group(0) @binding(8) var<storage, read> w: array<u32>;
@group(0) @binding(9) var<storage, read> w_scale: array<u32>;
fn w_scale_at(b: u32) -> f32 {
  let p = unpack2x16float(w_scale[b >> 1u]);
  return select(p.x, p.y, (b & 1u) == 1u);
}
fn w_raw4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let q = bitcast<vec4<i32>>(vec4<u32>(w[(row * cols + k) >> 2u]) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u);
  return vec4<f32>(q);
}
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  return w_raw4(row, k, cols) * w_scale_at((row * cols + k) >> 5u);
}
// The 4 signed bytes of a word as f32.
fn q8_unpack(u: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(u) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}
// Unscaled dot of block `blk` (global block index) with its 32 inputs xs0..xs7: the block's 8 words addressed once.
fn q8_block_dot(blk: u32, xs0: vec4<f32>, xs1: vec4<f32>, xs2: vec4<f32>, xs3: vec4<f32>,
                xs4: vec4<f32>, xs5: vec4<f32>, xs6: vec4<f32>, xs7: vec4<f32>) -> f32 {
  let o = blk << 3u;
  return dot(q8_unpack(w[o]), xs0) + dot(q8_unpack(w[o + 1u]), xs1) + dot(q8_unpack(w[o + 2u]), xs2) +
         dot(q8_unpack(w[o + 3u]), xs3) + dot(q8_unpack(w[o + 4u]), xs4) + dot(q8_unpack(w[o + 5u]), xs5) +
         dot(q8_unpack(w[o + 6u]), xs6) + dot(q8_unpack(w[o + 7u]), xs7);
}
#elif FMT_Q4_0
// 32 nibbles per block (4 words): element j < 16 is the low nibble of byte j, j >= 16 the high nibble of byte j-16
// (ggml's order). Value = (q - 8) * scale.
@group(0) @binding(8) var<storage, read> w: array<u32>;
@group(0) @binding(9) var<storage, read> w_scale: array<u32>;
fn w_scale_at(b: u32) -> f32 {
  let p = unpack2x16float(w_scale[b >> 1u]);
  return select(p.x, p.y, (b & 1u) == 1u);
}
fn w_raw4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  let e = row * cols + k;
  let j = e & 31u;
  let word = w[((e >> 5u) << 2u) + ((j & 15u) >> 2u)] >> select(0u, 4u, j >= 16u);
  let q = (vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(15u);
  return vec4<f32>(q) - 8.0;
}
fn w_load4(row: u32, k: u32, cols: u32) -> vec4<f32> {
  return w_raw4(row, k, cols) * w_scale_at((row * cols + k) >> 5u);
}
// Unscaled dot of block `blk` (global block index) with its 32 inputs xs0..xs7 (vec4 each): the block's 4 words
// are loaded once, each serving 8 weights (low nibbles: inputs 0..15, high nibbles: 16..31).
fn q4_lo(u: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(u) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(15u)) - 8.0;
}
fn q4_hi(u: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(u) >> vec4<u32>(4u, 12u, 20u, 28u)) & vec4<u32>(15u)) - 8.0;
}
fn q4_block_dot(blk: u32, xs0: vec4<f32>, xs1: vec4<f32>, xs2: vec4<f32>, xs3: vec4<f32>,
                xs4: vec4<f32>, xs5: vec4<f32>, xs6: vec4<f32>, xs7: vec4<f32>) -> f32 {
  let o = blk << 2u;
  let a = w[o];
  let b = w[o + 1u];
  let c = w[o + 2u];
  let d = w[o + 3u];
  return dot(q4_lo(a), xs0) + dot(q4_lo(b), xs1) + dot(q4_lo(c), xs2) + dot(q4_lo(d), xs3) +
         dot(q4_hi(a), xs4) + dot(q4_hi(b), xs5) + dot(q4_hi(c), xs6) + dot(q4_hi(d), xs7);
}
#endif
