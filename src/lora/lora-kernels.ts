/**
 * A view of `Kernels` through which the family graph is built once more with LoRA: every projection whose weight has
 * a low-rank pair becomes two dispatches, u = A·x (the same input, the same fused input norm) and the projection's
 * own kernel in its LORA variant, which adds Σ_j Bᵀ[j, row]·s[j]·u[j] before its epilogue (RoPE, gate product,
 * KV-cache row, residual add all see W·x + scale·B·A·x, as if the weights were merged). The graph files and
 * layers.ts need not know: they ask the view for projections as always.
 *
 * Why a prototype view rather than a flag on Kernels: the Kernels object is shared (the draft model uses the
 * target's), and the view shares its pipeline cache, so switching adapters compiles nothing once each variant exists.
 */
import { Kernels, type Dispatch } from '../gpu/kernels.ts';
import type { LinearOptions } from '../gpu/linear-out.ts';
import type { GpuLoraPair } from './lora-buffers.ts';

export interface LoraKernelsView {
  kernels: Kernels;
  /** Names of the pairs a projection picked up (a pair never used adapts nothing the graph computes). */
  used: Set<string>;
  /** Uniform buffers the view made (freed with the lists). */
  made: GPUBuffer[];
}

type MatvecOptions = Parameters<Kernels['matvec']>[0];

export function loraKernels(base: Kernels, pairs: ReadonlyMap<string, GpuLoraPair>): LoraKernelsView {
  const view = Object.create(base) as Kernels;
  const used = new Set<string>();
  const made: GPUBuffer[] = [];
  const proto = Kernels.prototype;
  view.lora = true;
  view.uniform = (label: string, data: ArrayBuffer) => {
    const b = proto.uniform.call(view, label, data);
    made.push(b);
    return b;
  };
  const withLora = (o: LinearOptions, pre: Promise<Dispatch>, main: (l: LinearOptions['lora']) => Promise<Dispatch>, p: GpuLoraPair) => {
    used.add(p.name);
    return Promise.all([pre, main({ buffer: p.lora, rank: p.rank, offset: p.offset })]).then(([a, m]): Dispatch => ({ ...m, before: [a] }));
  };
  view.matvec = (o: MatvecOptions) => {
    const p = pairs.get(o.w.name);
    if (!p) return proto.matvec.call(view, o);
    const pre = proto.matvec.call(view, { label: `${o.label}.lora_a`, w: p.a, x: o.x, y: p.lora, norm: o.norm });
    return withLora(o, pre, (lora) => proto.matvec.call(view, { ...o, lora }), p);
  };
  view.matmul = (o: LinearOptions) => {
    const p = pairs.get(o.w.name);
    if (!p) return proto.matmul.call(view, o);
    const pre = proto.matmul.call(view, { label: `${o.label}.lora_a`, w: p.a, x: o.x, y: p.lora });
    return withLora(o, pre, (lora) => proto.matmul.call(view, { ...o, lora }), p);
  };
  return { kernels: view, used, made };
}
