/**
 * Microbench: the project's own projection kernels (Kernels.matvec for one token, Kernels.matmul for 128) with the
 * adapter's default Tuning, per weight format. Prints ms per dispatch (best of 16 submits), M multiply-adds/s and weight
 * bytes/s (a format's cost per weight byte against Q4_0's: the ratio of those).
 * Run: `npm run bench:micro`; compare builds by running it on each, alternately (the machine's load moves the
 * figures by up to 2x).
 */
import { test } from 'vitest';
import { WEIGHT_FORMATS } from '../../src/formats/weight-formats.ts';
import { quantize } from '../../src/formats/quant.ts';
import { uploadWeight } from '../../src/gpu/weights.ts';
import { encodeDispatch } from '../../src/gpu/kernels.ts';
import { testKernels, gpuBuffer, randn } from '../../test/gpu-harness.ts';

test('projection kernel times', async () => {
  const k = await testKernels();
  const device = k.device;
  const lines: string[] = [];
  // VITE_MICRO_FORMATS=q4_k,q6_k picks formats of the table (src/formats/weight-formats.ts); default f32, q8_0, q4_0.
  const ids = ((import.meta.env.VITE_MICRO_FORMATS as string | undefined) ?? 'f32,q8_0,q4_0').split(',');
  for (const { id: fname, type } of WEIGHT_FORMATS.filter((f) => ids.includes(f.id))) {
    // 2048 x 2048: a decode projection big enough that the arithmetic, not the dispatch, is timed.
    for (const [M, N, K] of (import.meta.env.VITE_MICRO_BIG ? [[1, 2048, 2048]] : [[1, 768, 256], [1, 256, 768], [1, 2048, 2048], [128, 768, 256]])) {
      const w = uploadWeight(device, 'w', type, [N, K], quantize(type, randn(N * K, 1, 0.5)));
      const x = gpuBuffer(device, randn(M * K, 2));
      const y = gpuBuffer(device, M * N * 4);
      const d = M === 1 ? await k.matvec({ label: 'l', w, x, y }) : await k.matmul({ label: 'l', w, x, y });
      device.queue.writeBuffer(k.stepBuffer, 0, new Uint32Array([M, 0, M, 0]));
      const reps = M === 1 ? Math.max(4, Math.round(8e6 / (N * K))) : 4;
      const run = async () => {
        const enc = device.createCommandEncoder();
        const p = enc.beginComputePass();
        for (let i = 0; i < reps; i++) encodeDispatch(p, d, M);
        p.end();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
      };
      await run();
      let best = Infinity;
      for (let r = 0; r < 16; r++) {
        const t = performance.now();
        await run();
        best = Math.min(best, (performance.now() - t) / reps);
      }
      // Weight bytes read per ms (GB/s): the per-byte cost that compares formats of different sizes.
      const bytes = w.data.size + (w.scales?.size ?? 0);
      lines.push(`${fname} M=${M} ${N}x${K}: ${best.toFixed(3)} ms, ${(M * N * K / best / 1e3).toFixed(0)} M MAC/s, ${(bytes / best / 1e6).toFixed(3)} GB/s of weights`);
      w.data.destroy();
      w.scales?.destroy();
      x.destroy();
      y.destroy();
    }
  }
  console.log(lines.join('\n'));
});
