// Q2_K: 84-byte super-blocks as in the file (21 words): 16 scale bytes (low nibble scale, high nibble min, one per
// 16 elements), 64 bytes of 2-bit values, f16 d, f16 dmin. Chunk s = 4h + jq of the super-block takes bits 2jq of
// bytes 32h .. 32h+31. Element = d * scale * q - dmin * min.
@group(0) @binding(8) var<storage, read> w: array<u32>;
struct WScales { dm: vec2<f32>, sc: vec4<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 21u;
  return WScales(unpack2x16float(w[o + 20u]), vec4<u32>(w[o], w[o + 1u], w[o + 2u], w[o + 3u]));
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  let b = sc.sc[s >> 1u] >> (16u * (s & 1u));
  let dm = sc.dm;
  return vec4<f32>(dm.x * f32(b & 15u), -(dm.y * f32((b >> 4u) & 15u)),
                   dm.x * f32((b >> 8u) & 15u), -(dm.y * f32((b >> 12u) & 15u)));
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let s = c & 7u;
  let q = (c >> 3u) * 21u + 4u + (s >> 2u) * 8u + j;
  let shift = 2u * (s & 3u);
  return mat2x4<f32>(vec4<f32>(bits4(w[q], shift, 3u)), vec4<f32>(bits4(w[q + 4u], shift, 3u)));
}
// The super-block's scale words hold nothing w_q8 needs.
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  return w_q8(c, j);
}
