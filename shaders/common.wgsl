// Per-submission values shared by every kernel of one forward step (written once per step).
struct Step {
  n_tokens: u32,  // tokens in this step (1 when decoding)
  pos0: u32,      // absolute position of the first of them
  kv_len: u32,    // pos0 + n_tokens: cache rows valid after this step
  _pad: u32,
}
@group(0) @binding(1) var<uniform> step: Step;

// Workgroups are laid out 2-D when one dimension would pass the 65535 limit.
fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}
