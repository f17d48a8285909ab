// Rotation by a RoPE angle, shared by rope.wgsl and the fused matvec epilogue (matvec.wgsl, ROPE).
// sin and cos to ~1 ulp: built-in sin/cos may be as coarse as 2^-11 absolute (Vulkan's bound, which SwiftShader
// shows), far too coarse next to llama.cpp's f32 sinf/cosf. Cody-Waite reduction by pi/2 in three parts (the first
// exact in 8 bits, so q * P1 is exact for angles up to ~1e5), then cephes' minimax polynomials on [-pi/4, pi/4].
fn sin_cos(x: f32) -> vec2<f32> {
  let q = round(x * 0.63661977236758134);
  let r = ((x - q * 1.5703125) - q * 4.837512969970703125e-4) - q * 7.54978995489188216e-8;
  let r2 = r * r;
  let sn = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let cs = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  switch (u32(i32(q) & 3)) {
    case 0u: { return vec2<f32>(sn, cs); }
    case 1u: { return vec2<f32>(cs, -sn); }
    case 2u: { return vec2<f32>(-sn, -cs); }
    default: { return vec2<f32>(-cs, sn); }
  }
}

// (a, b) rotated by angle: (a cos - b sin, a sin + b cos).
fn rotate_pair(a: f32, b: f32, angle: f32) -> vec2<f32> {
  let sc = sin_cos(angle);
  return vec2<f32>(a * sc.y - b * sc.x, a * sc.x + b * sc.y);
}
