// Rotary position embedding, in place, one invocation per (token, head, frequency).
// Variants: NEOX (pairs (i, i + d/2), HF rotate-half) or the GGUF "normal" adjacent pairs (2i, 2i+1);
// params.at_pos != 0 (run time): rows start at pos0 (K is rotated inside the KV cache).
// params.n_rot: the first n_rot dimensions of each head turn (partial rotary, Phi-4-mini), the rest stay; the turned
// pairs are multiplied by params.mscale (LongRoPE's attention factor, 1 otherwise), as llama.cpp's rope_ext does.
// POSITIONS: token t sits at positions[t] (packed encoder batches: each sequence counts from 0).
// inv_freq[i] = theta^(-2i/d) / scaling factor is computed on the CPU in f64 (src/model/rope.ts): GPU pow() is too
// coarse once multiplied by positions in the thousands. The rotation itself is rotary.wgsl's.

struct Params { n_heads: u32, head_dim: u32, at_pos: u32, n_rot: u32, mscale: f32, _pad1: u32, _pad2: u32, _pad3: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(4) var<storage, read> inv_freq: array<f32>;
#if POSITIONS
@group(0) @binding(5) var<storage, read> positions: array<u32>;
#endif

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = params.n_rot / 2u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= step.n_tokens * params.n_heads * half) { return; }
  let i = idx % half;
  let h = (idx / half) % params.n_heads;
  let t = idx / (half * params.n_heads);
#if POSITIONS
  let pos = positions[t];
#else
  let pos = step.pos0 + t;
#endif
  let row = select(t, pos, params.at_pos != 0u);
  let base = (row * params.n_heads + h) * params.head_dim;
#if NEOX
  let a = base + i;
  let b = base + i + half;
#else
  let a = base + 2u * i;
  let b = a + 1u;
#endif
  let r = rotate_pair(x[a], x[b], f32(pos) * inv_freq[i]) * params.mscale;
  x[a] = r.x;
  x[b] = r.y;
}
