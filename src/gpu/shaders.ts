import { preprocessWgsl } from './preprocess.ts';
import common from '../../shaders/common.wgsl?raw';
import weights from '../../shaders/weights.wgsl?raw';
import matvec from '../../shaders/matvec.wgsl?raw';
import matmul from '../../shaders/matmul.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import attention from '../../shaders/attention.wgsl?raw';
import siluMul from '../../shaders/silu_mul.wgsl?raw';
import embedding from '../../shaders/embedding.wgsl?raw';
import argmax from '../../shaders/argmax.wgsl?raw';

/** Every kernel, one WGSL file each; `weights` says whether the file reads a weight matrix (gets weights.wgsl). */
const KERNELS = {
  matvec: { src: matvec, weights: true },
  matmul: { src: matmul, weights: true },
  embedding: { src: embedding, weights: true },
  rmsnorm: { src: rmsnorm, weights: false },
  rope: { src: rope, weights: false },
  attention: { src: attention, weights: false },
  silu_mul: { src: siluMul, weights: false },
  argmax: { src: argmax, weights: false },
} as const;

export type KernelName = keyof typeof KERNELS;

/** Full WGSL for a kernel variant: shared prelude, the weight-format include when needed, the kernel body. */
export function kernelSource(name: KernelName, defines: Iterable<string> = []): string {
  const k = KERNELS[name];
  const set = new Set(defines);
  const parts = [common];
  if (k.weights) parts.push(weights);
  parts.push(k.src);
  return preprocessWgsl(parts.join('\n'), set);
}
