// Q4_K: 144-byte super-blocks as in the file (36 words): f16 d, f16 dmin, 12 bytes of packed 6-bit scales and
// mins (one pair per 32-element chunk, ggml's get_scale_min_k4), 128 bytes of nibbles: chunk s takes the low
// (s even) or high (s odd) nibbles of bytes 32*(s/2) .. +31. Element = d * scale * q - dmin * min.
// A super-block's 4 scale words are read once (w_scales), each chunk's pair unpacked from them (k4_affine).
@group(0) @binding(8) var<storage, read> w: array<u32>;
struct WScales { dm: vec2<f32>, u: vec3<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 36u;
  return WScales(unpack2x16float(w[o]), vec3<u32>(w[o + 1u], w[o + 2u], w[o + 3u]));
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  return k4_affine(sc.dm, sc.u, s);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let s = c & 7u;
  let q = (c >> 3u) * 36u + 4u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  return mat2x4<f32>(vec4<f32>(bits4(w[q], shift, 15u)), vec4<f32>(bits4(w[q + 4u], shift, 15u)));
}
// The super-block's scale words hold nothing w_q8 needs.
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  return w_q8(c, j);
}
