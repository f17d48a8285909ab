// Rotary position embedding, in place, one invocation per (token, head, frequency).
// Variants: NEOX (pairs (i, i + d/2), HF rotate-half) or the GGUF "normal" adjacent pairs (2i, 2i+1);
// AT_POS (rows start at pos0: K is rotated inside the KV cache).
// inv_freq[i] = theta^(-2i/d) / scaling factor is computed on the CPU in f64 (src/model/rope.ts): GPU pow() is too
// coarse once multiplied by positions in the thousands.

struct Params { n_heads: u32, head_dim: u32, _pad0: u32, _pad1: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read> inv_freq: array<f32>;

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

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = params.head_dim / 2u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= step.n_tokens * params.n_heads * half) { return; }
  let i = idx % half;
  let h = (idx / half) % params.n_heads;
  let t = idx / (half * params.n_heads);
  let pos = step.pos0 + t;
#if AT_POS
  let row = pos;
#else
  let row = t;
#endif
  let base = (row * params.n_heads + h) * params.head_dim;
#if NEOX
  let a = base + i;
  let b = base + i + half;
#else
  let a = base + 2u * i;
  let b = a + 1u;
#endif
  let sc = sin_cos(f32(pos) * inv_freq[i]);
  let s = sc.x;
  let c = sc.y;
  let x0 = x[a];
  let x1 = x[b];
  x[a] = x0 * c - x1 * s;
  x[b] = x0 * s + x1 * c;
}
