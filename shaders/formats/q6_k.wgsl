// Q6_K: f16 d split out; the rest (52 words): ql (128 bytes of low nibbles), qh (64 bytes of 2-bit high parts),
// 16 int8 scales (one per 16 elements, words 48..51). w_q8 gives the unsigned 6-bit values q; the affine's offset is
// -32 * scale. Chunk s = 4h + jq: low nibbles (jq < 2) or high (jq >= 2) of
// ql bytes 64h + 32(jq & 1) + l, bits 2jq of qh byte 32h + l. Element = d * scale * (q - 32).
@group(0) @binding(8) var<storage, read> w: array<u32>;
struct WScales { d: f32, sc: vec4<u32> }
fn w_scales(g: u32) -> WScales {
  let o = g * 52u + 48u;
  return WScales(w_d(g), vec4<u32>(w[o], w[o + 1u], w[o + 2u], w[o + 3u]));
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  // Chunk s's two 16-element scales are bytes 2s, 2s + 1: word s / 2, half s & 1. The values' -32 is an offset.
  let pair = i8x4(sc.sc[s >> 1u]);
  let p = sc.d * select(pair.xy, pair.zw, (s & 1u) == 1u);
  return vec4<f32>(p.x, -32.0 * p.x, p.y, -32.0 * p.y);
}
// 4 six-bit values (unsigned, 0..63) from the words of their low nibbles and high 2-bit parts.
fn q6_vals(l: u32, h: u32, ls: u32, hs: u32) -> vec4<f32> {
  return u8x4(((l >> ls) & 0x0F0F0F0Fu) | (((h >> hs) & 0x03030303u) << 4u));
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let o = (c >> 3u) * 52u;
  let s = c & 7u;
  let h = s >> 2u;
  let jq = s & 3u;
  let ql = o + 16u * h + 8u * (jq & 1u) + j;
  let qh = o + 32u + 8u * h + j;
  let ls = 4u * (jq >> 1u);
  let hs = 2u * jq;
  return mat2x4<f32>(q6_vals(w[ql], w[qh], ls, hs), q6_vals(w[ql + 4u], w[qh + 4u], ls, hs));
}
// The super-block's scale words hold nothing w_q8 needs.
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  return w_q8(c, j);
}
