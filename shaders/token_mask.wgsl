// A grammar's token mask (runtime/token-mask.ts) applied to the logits in place, before the pick: bit i of `allowed`
// clear sets logit i to -inf, which the argmax never picks and the GPU sampler keeps out of its draw (as the CPU
// sampler's mask does). The host uploads the bitset (vocab / 8 bytes) per step, never reads the logits.
// `masked` is -inf, from the host: WGSL has no infinite literal (and a constant bitcast to one is an error).
struct Params { n: u32, masked: f32, _pad1: u32, _pad2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read> allowed: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  if ((allowed[i >> 5u] & (1u << (i & 31u))) == 0u) { logits[i] = params.masked; }
}
