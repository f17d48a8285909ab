// Q5_K: 176-byte super-blocks as in the file (44 words): f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (as Q4_K),
// qh (32 bytes: bit s of byte l is the fifth bit of element l of chunk s), 128 bytes of nibbles (as Q4_K).
@group(0) @binding(8) var<storage, read> w: array<u32>;
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
  let o = (c >> 3u) * 44u;
  let dm = unpack2x16float(w[o]);
  let sm = k4_scale_min(o, c & 7u);
  let a = vec2<f32>(dm.x * sm.x, -(dm.y * sm.y));
  return vec4<f32>(a, a);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = (c >> 3u) * 44u;
  let s = c & 7u;
  let q = o + 12u + (s >> 1u) * 8u + j;
  let shift = 4u * (s & 1u);
  return mat2x4<f32>(vec4<f32>(bits4(w[q], shift, 15u) | (bits4(w[o + 4u + j], s, 1u) << vec4<u32>(4u))),
                     vec4<f32>(bits4(w[q + 4u], shift, 15u) | (bits4(w[o + 8u + j], s, 1u) << vec4<u32>(4u))));
}
