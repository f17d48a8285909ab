// SwiGLU gate: gate[i] = silu(gate[i]) * up[i], in place, over n_tokens rows of `n` values.
struct Params { n: u32, _pad0: u32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> gate: array<f32>;
@group(0) @binding(4) var<storage, read> up: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= step.n_tokens * params.n) { return; }
  let g = gate[i];
  gate[i] = g / (1.0 + exp(-g)) * up[i];
}
