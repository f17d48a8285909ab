/**
 * Microbench: per-weight-byte cost of each format's decode matvec against Q4_0's, load-independent. Every format's
 * 2048 × 2048 matvec (the adapter's default launch layout; `VITE_MICRO_LAYOUT=wg`: the GPU layout, a workgroup per
 * row group) is set up in one page, then timed in rounds that take the formats one after the other each format's
 * dispatch between two Q4_0 dispatches, one dispatch per submit), so a change of the machine's load hits a format and
 * the Q4_0 it is compared with alike. Per format dispatch: ratio = (format ms / format weight bytes) / (mean ms of the
 * Q4_0 dispatches before and after / Q4_0 weight bytes); printed: the median ratio over the rounds, its
 * quartiles, the median ms, and the ratio of the formats' best times (min over all rounds). The target: K-quants ≤ 1.25.
 * Run: `VITE_MICRO_FORMATS=q4_k,q5_k,q6_k npm run bench:micro -- bench/micro/format-ab.micro.ts` (q4_0 is always in).
 */
import { test } from 'vitest';
import { WEIGHT_FORMATS } from '../../src/formats/weight-formats.ts';
import { quantize } from '../../src/formats/quant.ts';
import { uploadWeight } from '../../src/gpu/weights.ts';
import { defaultTuning, encodeDispatch } from '../../src/gpu/kernels.ts';
import { provideGpu } from '../../src/gpu/device.ts';
import { testGpu, testKernels, gpuBuffer, randn } from '../../test/gpu-harness.ts';

const N = 2048;
const K = 2048;
const ROUNDS = Number(import.meta.env.VITE_MICRO_ROUNDS ?? 40);

/**
 * In Node (`--browser.enabled=false`): Dawn (the `webgpu` package) on SwiftShader's Vulkan ICD in this process, so the
 * process's CPU time (process.cpuUsage) measures the dispatch's work itself, which other processes on the machine
 * hardly change (wall time under load measures the share of the cores the adapter got).
 */
async function nodeDawn(): Promise<boolean> {
  if (typeof window !== 'undefined') return false;
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env.VK_ICD_FILENAMES ??= icd;
  const mod = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  const g = globalThis as Record<string, unknown>;
  for (const [key, v] of Object.entries(mod.globals)) if (!(key in g)) g[key] = v;
  provideGpu(mod.create([]));
  return true;
}

test('matvec per weight byte vs Q4_0, alternating formats', async () => {
  const inNode = await nodeDawn();
  const gpu = await testGpu();
  const wg = import.meta.env.VITE_MICRO_LAYOUT === 'wg';
  const k = await testKernels(wg ? { ...defaultTuning({ cpu: false }), matvecRows: 4, matvecWG: 64 } : undefined);
  const device = k.device;
  const ids = ['q4_0', ...((import.meta.env.VITE_MICRO_FORMATS as string | undefined) ?? 'q4_k,q5_k,q6_k,q3_k,q2_k').split(',').filter((f) => f !== 'q4_0')];
  const x = gpuBuffer(device, randn(K, 2));
  const y = gpuBuffer(device, N * 4);
  device.queue.writeBuffer(k.stepBuffer, 0, new Uint32Array([1, 0, 1, 0]));
  const runs = await Promise.all(ids.map(async (id) => {
    const f = WEIGHT_FORMATS.find((e) => e.id === id);
    if (!f) throw new Error(`no format ${id}`);
    const w = uploadWeight(device, 'w', f.type, [N, K], quantize(f.type, randn(N * K, 1, 0.5)));
    const d = await k.matvec({ label: id, w, x, y });
    return { id, d, bytes: w.data.size + (w.scales?.size ?? 0) };
  }));
  // One dispatch per submit (a 2048 × 2048 matvec is 5-50 ms on a CPU adapter: the submit's own cost is small).
  const time = async (d: (typeof runs)[number]['d']): Promise<number> => {
    const enc = device.createCommandEncoder();
    const p = enc.beginComputePass();
    encodeDispatch(p, d, 1);
    p.end();
    const t = performance.now();
    const c = inNode ? process.cpuUsage() : undefined;
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (c) {
      const u = process.cpuUsage(c);
      return (u.user + u.system) / 1e3;
    }
    return performance.now() - t;
  };
  for (const r of runs) await time(r.d); // compile and warm
  // VITE_MICRO_PERF_CTL (Node only): the control FIFO of `perf stat -D -1 --control=fifo:<ctl>`: counting is enabled
  // for ROUNDS dispatches of the last format alone, so perf counts that format's instructions and cycles in this
  // process (its own work, unlike any time under load). One process per format.
  const ctl = import.meta.env.VITE_MICRO_PERF_CTL as string | undefined;
  if (ctl && inNode) {
    const { writeFileSync } = await import('node:fs');
    const only = runs[runs.length - 1];
    const pause = () => new Promise((r) => setTimeout(r, 100));
    writeFileSync(ctl, 'enable\n');
    await pause();
    for (let i = 0; i < ROUNDS; i++) await time(only.d);
    writeFileSync(ctl, 'disable\n');
    await pause();
    console.log(`perf: ${only.id} ${ROUNDS} dispatches, ${only.bytes} weight bytes`);
    return;
  }
  const ms: number[][] = runs.map(() => []);
  const ratios: number[][] = runs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    // Q4_0, then each other format followed by Q4_0 again (the others in a different order each round): a format's
    // ratio is against the mean of the Q4_0 dispatches just before and just after it, run under the same load.
    let before = await time(runs[0].d);
    ms[0].push(before);
    for (let j = 0; j < runs.length - 1; j++) {
      const i = 1 + ((j + round) % (runs.length - 1));
      const t = await time(runs[i].d);
      const after = await time(runs[0].d);
      ms[i].push(t);
      ms[0].push(after);
      ratios[i].push((t / runs[i].bytes) / ((before + after) / 2 / runs[0].bytes));
      before = after;
    }
  }
  ratios[0] = [1];
  const q = (a: number[], p: number) => [...a].sort((u, v) => u - v)[Math.min(a.length - 1, Math.floor(p * a.length))];
  console.log(`${inNode ? 'Node/Dawn, CPU ms' : 'browser, wall ms'}, ${wg ? 'workgroup' : 'default (' + (gpu.caps.cpu ? 'CPU: ROWS4' : 'GPU') + ')'} layout, matvec ${N}x${K}, ${ROUNDS} rounds:\n` + runs.map((r, i) =>
    `${r.id}: ${q(ms[i], 0.5).toFixed(2)} ms, ${(r.bytes / 1e6).toFixed(2)} MB, per-byte ratio vs q4_0 ${q(ratios[i], 0.5).toFixed(3)} (quartiles ${q(ratios[i], 0.25).toFixed(3)}-${q(ratios[i], 0.75).toFixed(3)}; best-time ratio ${((Math.min(...ms[i]) / r.bytes) / (Math.min(...ms[0]) / runs[0].bytes)).toFixed(3)})`).join('\n'));
  x.destroy();
  y.destroy();
});
