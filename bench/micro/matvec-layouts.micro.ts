/**
 * Microbench: one f32 matvec y = W x in several thread layouts, raw WGSL (not the project's kernels), against a plain
 * JS loop over the same matrix in the same page for scale. Prints ms per dispatch (best of 6 submits of 50
 * dispatches) and M multiply-adds/s; checks each result against the JS one. Run: `npm run bench:micro`.
 * BENCHMARKS.md (round 2) has what it showed on SwiftShader: 4 rows per invocation won.
 */
import { test } from 'vitest';
import { testGpu, gpuBuffer, randn } from '../../test/gpu-harness.ts';

type Layout = 'row' | 'kmajor';
interface Variant { layout: Layout; groups: (N: number) => number; code: (N: number, K: number) => string }

const HEAD = `@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;`;

/** R rows per invocation, row-major W read as vec4, each x vec4 loaded once for the R rows. */
function rows(R: number, wg: number): Variant {
  return {
    layout: 'row', groups: (N) => Math.ceil(N / (R * wg)), code: (N, K) => {
      const K4 = K / 4;
      const idx = Array.from({ length: R }, (_, j) => j);
      return `@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
${HEAD}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let r = g.x * ${R}u; if (r >= ${N}u) { return; }
  ${idx.map((j) => `var a${j} = 0.0;`).join(' ')}
  for (var k = 0u; k < ${K4}u; k++) {
    let xv = x[k];
    ${idx.map((j) => `a${j} += dot(w[(r + ${j}u) * ${K4}u + k], xv);`).join('\n    ')}
  }
  ${idx.map((j) => `y[r + ${j}u] = a${j};`).join(' ')}
}`;
    },
  };
}

const VARIANTS: Record<string, Variant> = {
  'row per thread': rows(1, 64),
  '4 rows per thread': rows(4, 16),
  '8 rows per thread': rows(8, 8),
  // A subgroup per row: lanes read consecutive vec4s of the row, subgroupAdd reduces.
  'subgroup per row': { layout: 'row', groups: (N) => Math.ceil(N / 16), code: (N, K) => `enable subgroups;
@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
${HEAD}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(subgroup_invocation_id) l: u32, @builtin(subgroup_size) s: u32) {
  let r = g.x / s;
  var acc = 0.0;
  if (r < ${N}u) { for (var k = l; k < ${K / 4}u; k += s) { acc += dot(w[r * ${K / 4}u + k], x[k]); } }
  acc = subgroupAdd(acc);
  if (l == 0u && r < ${N}u) { y[r] = acc; }
}` },
  // K-major W[k * N + r]: adjacent lanes (rows) read adjacent floats.
  'K-major, row per thread': { layout: 'kmajor', groups: (N) => Math.ceil(N / 64), code: (N, K) => `
@group(0) @binding(0) var<storage, read> w: array<f32>;
${HEAD}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let r = g.x; if (r >= ${N}u) { return; }
  var acc = 0.0;
  for (var k4 = 0u; k4 < ${K / 4}u; k4++) {
    let xv = x[k4];
    let b = k4 * ${4 * N}u + r;
    acc += w[b] * xv.x + w[b + ${N}u] * xv.y + w[b + ${2 * N}u] * xv.z + w[b + ${3 * N}u] * xv.w;
  }
  y[r] = acc;
}` },
  // The same K-major buffer read as vec4s of 4 adjacent rows: 4 rows per thread, adjacent lanes adjacent vec4s.
  'K-major, vec4 of 4 rows': { layout: 'kmajor', groups: (N) => Math.ceil(N / 64), code: (N, K) => `
@group(0) @binding(0) var<storage, read> w: array<vec4<f32>>;
${HEAD}
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
@compute @workgroup_size(16) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let r4 = g.x; if (r4 >= ${N / 4}u) { return; }
  var a = vec4<f32>(0.0);
  for (var k4 = 0u; k4 < ${K / 4}u; k4++) {
    let xv = x[k4];
    let b = k4 * ${N}u + r4;
    a += w[b] * xv.x + w[b + ${N / 4}u] * xv.y + w[b + ${N / 2}u] * xv.z + w[b + ${(3 * N) / 4}u] * xv.w;
  }
  y[r4] = a;
}` },
};

function arrange(W: Float32Array, N: number, K: number, layout: Layout): Float32Array {
  if (layout === 'row') return W;
  const out = new Float32Array(N * K);
  for (let r = 0; r < N; r++) for (let k = 0; k < K; k++) out[k * N + r] = W[r * K + k];
  return out;
}

test('matvec layouts', async () => {
  const { device, caps } = await testGpu();
  const lines = [`adapter: ${caps.adapterInfo}, subgroup size ${caps.subgroupSize ?? '-'}`];
  for (const [N, K] of [[768, 256], [256, 768], [4096, 256]]) {
    const W = randn(N * K, 1);
    const x = randn(K, 2);
    const ref = new Float32Array(N);
    const t0 = performance.now();
    let reps = 0;
    while (performance.now() - t0 < 200) {
      for (let r = 0; r < N; r++) {
        let a = 0;
        for (let k = 0, o = r * K; k < K; k++) a += W[o + k] * x[k];
        ref[r] = a;
      }
      reps++;
    }
    const jsMs = (performance.now() - t0) / reps;
    lines.push(`${N}x${K} JS loop: ${jsMs.toFixed(3)} ms, ${(N * K / jsMs / 1e3).toFixed(0)} M MAC/s`);
    for (const [name, v] of Object.entries(VARIANTS)) {
      if (name.startsWith('subgroup') && !caps.subgroups) continue;
      const buffers = [gpuBuffer(device, arrange(W, N, K, v.layout)), gpuBuffer(device, x), gpuBuffer(device, N * 4)];
      const module = device.createShaderModule({ code: v.code(N, K) });
      const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
      const bg = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
      const run = async (n: number) => {
        const enc = device.createCommandEncoder();
        const p = enc.beginComputePass();
        p.setPipeline(pipeline);
        p.setBindGroup(0, bg);
        for (let i = 0; i < n; i++) p.dispatchWorkgroups(v.groups(N));
        p.end();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
      };
      await run(2);
      const staging = device.createBuffer({ size: N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buffers[2], 0, staging, 0, N * 4);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const got = new Float32Array(staging.getMappedRange().slice(0));
      staging.destroy();
      let err = 0;
      for (let i = 0; i < N; i++) err = Math.max(err, Math.abs(got[i] - ref[i]));
      let best = Infinity;
      for (let rep = 0; rep < 6; rep++) {
        const t = performance.now();
        await run(50);
        best = Math.min(best, (performance.now() - t) / 50);
      }
      lines.push(`${N}x${K} ${name}: ${best.toFixed(3)} ms, ${(N * K / best / 1e3).toFixed(0)} M MAC/s (max |err| ${err.toExponential(1)})`);
      for (const b of buffers) b.destroy();
    }
  }
  console.log(lines.join('\n'));
});
