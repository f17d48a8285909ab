// Cosine scores for exact vector search (src/rag/gpu-vector-search.ts): rows and query are unit vectors, so
// scores[r] = dot(rows[r], q). One invocation per row; rows are padded with zeros to whole vec4s, so each step reads
// 16 bytes. The k best are picked on the CPU from the read-back scores (4 bytes a row).

struct Params {
  rows: u32,
  d4: u32, // vec4s per row
  nx: u32, // workgroups along x (the dispatch wraps into y past 65535)
  pad: u32,
}

@group(0) @binding(0) var<storage, read> m: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let r = (wg.y * p.nx + wg.x) * 64u + li;
  if (r >= p.rows) {
    return;
  }
  let o = r * p.d4;
  var s = vec4<f32>(0.0);
  for (var j = 0u; j < p.d4; j++) {
    s += m[o + j] * q[j];
  }
  scores[r] = s.x + s.y + s.z + s.w;
}
