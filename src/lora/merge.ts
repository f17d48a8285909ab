/**
 * Merging an adapter into the base weights on the GPU (shaders/lora_merge.wgsl): W += scale·B·A for every pair, in
 * place. Only float bases can take it exactly enough (F32, and F16 rounded once per weight as llama.cpp's
 * export-lora does); a quantized base would have to be re-quantized, which loses the adapter's small updates, so it is
 * refused naming the tensor (apply the adapter per request instead: it works on every weight type).
 */
import { grid1d, type Kernels } from '../gpu/kernels.ts';
import type { WeightStore } from '../gpu/weights.ts';
import { UnsupportedModelError } from '../errors.ts';
import { targetOf, type GpuLoraPair } from './lora-buffers.ts';

export async function mergePairs(k: Kernels, weights: WeightStore, pairs: ReadonlyMap<string, GpuLoraPair>, scaleOf: (name: string) => number): Promise<void> {
  const target = (name: string) => targetOf(weights, name)!;
  for (const name of pairs.keys()) {
    const f = target(name).w.format.id;
    if (f !== 'f32' && f !== 'f16') {
      throw new UnsupportedModelError(
        `Cannot merge the adapter into ${name}: it is ${f.toUpperCase()}, and merging needs an F32 or F16 base. ` +
          'Pass the adapter per request (lora: [{ id, scale }]) instead; that works with every weight type.',
      );
    }
  }
  const dispatches = await Promise.all([...pairs].map(([name, p]) => {
    const { w, row0 } = target(name);
    const f16 = w.format.id === 'f16';
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 4).set([p.rows, p.cols, p.rank, p.offset + p.rank]);
    new Float32Array(params, 16, 1)[0] = scaleOf(name);
    // The matrix's first word in w (a fused projection's row range); k is a multiple of 4, so F16 rows are whole words.
    new Uint32Array(params, 20, 1)[0] = f16 ? (row0 * p.cols) / 2 : row0 * p.cols;
    const words = f16 ? (p.rows * p.cols) / 2 : p.rows * p.cols;
    return k.make('lora_merge', {
      label: `${name}.merge`, defines: f16 ? ['F16_BASE'] : [], params,
      buffers: { 2: p.a.data, 3: p.lora, 8: w.data },
      grid: () => grid1d(Math.ceil(words / 64)),
    });
  }));
  const enc = k.device.createCommandEncoder({ label: 'lora.merge' });
  const pass = enc.beginComputePass();
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.grid(1, 1));
  }
  pass.end();
  k.device.queue.submit([enc.finish()]);
  // Copies made from the weights (the layer kernel's packed layers) take the merged values.
  for (const refresh of weights.copies) refresh();
  await k.device.queue.onSubmittedWorkDone();
}
