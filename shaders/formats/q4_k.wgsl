// Q4_K: 144-byte super-blocks as in the file (36 words): f16 d, f16 dmin, 12 bytes of packed 6-bit scales and
// mins (one pair per 32-element chunk, ggml's get_scale_min_k4), 128 bytes of nibbles: chunk s takes the low
// (s even) or high (s odd) nibbles of bytes 32*(s/2) .. +31. Element = d * scale * q - dmin * min.
@group(0) @binding(8) var<storage, read> w: array<u32>;
// The 6-bit (scale, min) of chunk s from the 3 scale words at o + 1.
fn k4_scale_min(o: u32, s: u32) -> vec2<f32> {
  let u0 = w[o + 1u];
  let u1 = w[o + 2u];
  let u2 = w[o + 3u];
  let t = 8u * (s & 3u);
  if (s < 4u) {
    return vec2<f32>(f32((u0 >> t) & 63u), f32((u1 >> t) & 63u));
  }
  return vec2<f32>(f32(((u2 >> t) & 15u) | (((u0 >> (t + 6u)) & 3u) << 4u)),
                   f32(((u2 >> (t + 4u)) & 15u) | (((u1 >> (t + 6u)) & 3u) << 4u)));
}
fn w_affine(c: u32) -> vec4<f32> {
  let o = (c >> 3u) * 36u;
  let dm = unpack2x16float(w[o]);
  let sm = k4_scale_min(o, c & 7u);
  let a = vec2<f32>(dm.x * sm.x, -(dm.y * sm.y));
  return vec4<f32>(a, a);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let s = c & 7u;
  let q = (c >> 3u) * 36u + 4u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  return mat2x4<f32>(vec4<f32>(bits4(w[q], shift, 15u)), vec4<f32>(bits4(w[q + 4u], shift, 15u)));
}
