import { preprocessWgsl } from './preprocess.ts';
import common from '../../shaders/common.wgsl?raw';
import weights from '../../shaders/weights.wgsl?raw';
import matvec from '../../shaders/matvec.wgsl?raw';
import matmul from '../../shaders/matmul.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import attention from '../../shaders/attention.wgsl?raw';
import embedding from '../../shaders/embedding.wgsl?raw';
import argmax from '../../shaders/argmax.wgsl?raw';
import rotary from '../../shaders/rotary.wgsl?raw';

/**
 * Every kernel, one WGSL file each; `weights`: the file reads a weight matrix (gets weights.wgsl); `rotary`: it
 * rotates RoPE pairs (gets rotary.wgsl).
 */
const KERNELS = {
  matvec: { src: matvec, weights: true, rotary: true },
  matmul: { src: matmul, weights: true, rotary: false },
  embedding: { src: embedding, weights: true, rotary: false },
  rmsnorm: { src: rmsnorm, weights: false, rotary: false },
  rope: { src: rope, weights: false, rotary: true },
  attention: { src: attention, weights: false, rotary: false },
  argmax: { src: argmax, weights: false, rotary: false },
} as const;

export type KernelName = keyof typeof KERNELS;

/** Full WGSL for a kernel variant: shared prelude, the weight-format include when needed, the kernel body. */
export function kernelSource(name: KernelName, defines: Iterable<string> = []): string {
  const k = KERNELS[name];
  const set = new Set(defines);
  // WGSL `enable` must precede every declaration.
  const parts = set.has('SUBGROUPS') ? ['enable subgroups;', common] : [common];
  if (k.weights) parts.push(weights);
  if (k.rotary) parts.push(rotary);
  parts.push(k.src);
  return preprocessWgsl(parts.join('\n'), set);
}
