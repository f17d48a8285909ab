// IQ4_XS: 136-byte super-blocks as in the file (34 words): f16 d | scales_h (word 0), scales_l (word 1), then per
// 32-element sub-block s 16 bytes of grid indices (as IQ4_NL). Sub-block scale d * (6-bit ls - 32): low 4 bits are
// nibble s of scales_l, high 2 bits are bits 2s of scales_h.
@group(0) @binding(8) var<storage, read> w: array<u32>;
struct WScales { h: u32, l: u32 }
fn w_scales(g: u32) -> WScales {
  let o = g * 34u;
  return WScales(w[o], w[o + 1u]);
}
fn w_affine_at(sc: WScales, s: u32) -> vec4<f32> {
  let low = (sc.l >> (4u * s)) & 15u;
  let high = (sc.h >> (16u + 2u * s)) & 3u;
  let dl = unpack2x16float(sc.h).x * f32(i32(low | (high << 4u)) - 32);
  return vec4<f32>(dl, 0.0, dl, 0.0);
}
fn w_q8(c: u32, j: u32) -> mat2x4<f32> {
  let u = w[(c >> 3u) * 34u + 2u + 4u * (c & 7u) + j];
  return mat2x4<f32>(iq4_grid(bits4(u, 0u, 15u)), iq4_grid(bits4(u, 4u, 15u)));
}
// The super-block's scale words hold nothing w_q8 needs.
fn w_q8_at(sc: WScales, c: u32, j: u32) -> mat2x4<f32> {
  return w_q8(c, j);
}
