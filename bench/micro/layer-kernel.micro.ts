/**
 * Microbench: stories260K decode with and without the layer kernel (runtime/layer-kernel.ts), both Transformers on
 * one loaded model in one page, timed alternately (16 steps per submission, as EngineCore's steady state), so the
 * machine's load hits both alike. Prints the median ms per token of each variant and the ratio, in wall time and in
 * CPU time of the browser's GPU process (cpu-time-command.ts: where SwiftShader runs the kernels; it does not grow
 * when other processes take the cores, so it is the figure to compare at any load).
 * Run: `npm run bench:micro -- bench/micro/layer-kernel.micro.ts`.
 */
import { test } from 'vitest';
import { commands } from 'vitest/browser';
import { loadModel } from '../../src/loader/load-model.ts';
import { defaultTuning, type Tuning } from '../../src/gpu/kernels.ts';
import { Transformer } from '../../src/runtime/transformer.ts';
import { testGpu, testKernels } from '../../test/gpu-harness.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';
// First decoded position (VITE_MICRO_POS0, default 0): 128 tokens from there, so attention reads pos0 .. pos0+127 keys
// (the cache rows before pos0 are zeros: the cost is the same).
const POS0 = Number(import.meta.env.VITE_MICRO_POS0 ?? 0);

test('layer kernel vs separate dispatches (stories260K decode)', async () => {
  const gpu = await testGpu();
  const model = await loadModel(gpu, new URL(MODEL, location.href).href);
  const base = defaultTuning(gpu.caps);
  const variants: [string, Tuning][] = [
    ['5 dispatches a layer', { ...base, layerKernelMaxWeights: 0 }],
    ['layer kernel WG 4', { ...base, layerKernelMaxWeights: 1 << 17, layerWG: 4 }],
    ['layer kernel WG 16', { ...base, layerKernelMaxWeights: 1 << 17, layerWG: 16 }],
    ['layer kernel WG 4 subgroups', { ...base, layerKernelMaxWeights: 1 << 17, layerWG: 4, subgroups: gpu.caps.subgroups }],
  ];
  const ts = await Promise.all(variants.map(async ([, tuning]) => Transformer.create(await testKernels(tuning), model.config, model.weights, { contextLength: 512, maxBatch: 16 })));
  const times: number[][] = ts.map(() => []);
  const cpu: number[][] = ts.map(() => []);
  const tokens: number[][] = [];
  const loads = [await commands.loadAverage()];
  const thr: Record<string, number>[] = ts.map(() => ({}));
  for (let round = 0; round < 12; round++) {
    for (let v = 0; v < ts.length; v++) {
      const th0 = await commands.gpuThreadsCpuMs();
      const c0 = await commands.gpuProcessCpuMs();
      const t0 = performance.now();
      let tok = 1;
      const got: number[] = [];
      for (let pos = POS0; pos < POS0 + 128; pos += 16) {
        const out = (await ts[v].decodeSteps([tok], pos, 16)).tokens;
        got.push(...out);
        tok = out[15];
      }
      times[v].push((performance.now() - t0) / 128);
      cpu[v].push(((await commands.gpuProcessCpuMs()) - c0) / 128);
      const th1 = await commands.gpuThreadsCpuMs();
      for (const k of Object.keys(th1)) thr[v][k.split(':')[0]] = (thr[v][k.split(':')[0]] ?? 0) + (th1[k] - (th0[k] ?? 0)) / 128 / 12;
      tokens[v] = got;
    }
    loads.push(await commands.loadAverage());
  }
  console.log(`positions ${POS0}..${POS0 + 127}; load average (1 min) over the rounds: ${loads.map((l) => l.toFixed(1)).join(' ')}`);
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const ref = med(times[0]);
  const cref = med(cpu[0]);
  for (let v = 0; v < ts.length; v++) {
    const same = tokens[v].every((t, i) => t === tokens[0][i]);
    console.log(`${variants[v][0]}: ${med(times[v]).toFixed(3)} ms/token (${(ref / med(times[v])).toFixed(2)}x), GPU process CPU ${med(cpu[v]).toFixed(3)} ms/token (${(cref / med(cpu[v])).toFixed(2)}x), tokens ${same ? 'equal' : 'DIFFER'}`);
  }
  // Per thread of the GPU process (Thread<00>/<01>: SwiftShader's workers; their CPU includes spinning between tasks).
  for (let v = 0; v < ts.length; v++) console.log(`${variants[v][0]}: GPU-process threads, CPU ms/token`, JSON.stringify(Object.fromEntries(Object.entries(thr[v]).filter(([, x]) => x > 0.005).map(([k, x]) => [k, +x.toFixed(3)]))));
  for (const t of ts) t.destroy();
});
