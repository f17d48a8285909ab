/**
 * A projection's options (matvec and matmul both take them) and how they become linear_out.wgsl's variants: the
 * compile-time defines (bias, LoRA, split outputs, GLU) and the run-time fields of its params (output mode, which
 * outputs are written at the step's positions, where the split outputs start) and the split outputs' bindings.
 */
import { weightDefines, type GpuWeight } from './weights.ts';

/** What both projection kernels take: weight, input, output and the epilogue variants they share. */
export interface LinearOptions {
  label: string;
  w: GpuWeight;
  x: GPUBuffer;
  y: GPUBuffer;
  bias?: GPUBuffer;
  /** y += result (residual add). */
  accumulate?: boolean;
  /** y = act(y) * result (SwiGLU / GEGLU: run on the up projection after the gate projection wrote y). */
  gateMul?: boolean;
  /** The gate's activation: silu (default) or gelu (tanh approximation). */
  gateAct?: 'silu' | 'gelu';
  /** Write at the step's positions of a [ctx, rows] buffer (KV cache). */
  outAtPos?: boolean;
  /** y = gelu(result) (exact erf GELU: BERT's FFN up projection). */
  gelu?: boolean;
  /**
   * Fused projections (runtime/projection.ts): weight rows from `at` on go to their own buffer (plain writes, at the
   * step's positions with `outAtPos`); `y` keeps the rows before the first `at`. At most two.
   */
  split?: { at: number; y: GPUBuffer; outAtPos?: boolean }[];
  /** The weight's rows are [gate; up] (n/2 each): y = act(gate)·up, n/2 values per token (SwiGLU / GEGLU in one). */
  glu?: 'silu' | 'gelu';
  /**
   * + scale·B·(A·x) per weight row, before the epilogue (linear_out.wgsl LORA): `buffer` holds u = A·x (written by a
   * dispatch before this one), then `rank` scales from float `offset`, then Bᵀ [rank, rows] (src/lora/).
   */
  lora?: { buffer: GPUBuffer; rank: number; offset: number };
}

/**
 * Compile-time variants of a projection. How the output is written (mode, KV-cache row) is a run-time parameter
 * instead (linear_out.wgsl): it only touches the epilogue, and each variant costs a pipeline compiled at load.
 */
export function linearDefines(o: LinearOptions): string[] {
  const defines = weightDefines(o.w.format);
  if (o.bias) defines.push('HAS_BIAS');
  if (o.lora) defines.push('LORA');
  const split = o.split ?? [];
  if (split.length > 2) throw new Error(`${o.label}: a projection splits its output into at most 3 buffers`);
  if (split.length) defines.push('SPLIT', ...(split.length === 2 ? ['SPLIT3'] : []));
  if (o.glu) {
    if (o.w.rows % 2 || split.length || o.accumulate || o.gateMul) throw new Error(`${o.label}: glu needs [gate; up] rows and a plain output`);
    defines.push('GLU', ...(o.glu === 'gelu' ? ['GLU_GELU'] : []));
  }
  return defines;
}

/** linear_out.wgsl `out_at_pos`: bit 0 for y, bits 1 and 2 for the split outputs. */
export function outAtPos(o: LinearOptions): number {
  return (o.outAtPos ? 1 : 0) | (o.split ?? []).reduce((m, s, i) => m | (s.outAtPos ? 2 << i : 0), 0);
}

/** params.split0, split1: the first weight row of each split output (the weight's row count when absent). */
export function splitRows(o: LinearOptions): [number, number] {
  return [o.split?.[0]?.at ?? o.w.rows, o.split?.[1]?.at ?? o.w.rows];
}

export function splitBuffers(o: LinearOptions): Record<number, GPUBuffer | undefined> {
  return { 10: o.split?.[0]?.y, 11: o.split?.[1]?.y };
}

/** linear_out.wgsl OUT_WRITE / OUT_ACCUMULATE / OUT_GATE_MUL / OUT_GELU / OUT_GELU_MUL. */
export function outMode(o: LinearOptions): number {
  return o.accumulate ? 1 : o.gateMul ? (o.gateAct === 'gelu' ? 4 : 2) : o.gelu ? 3 : 0;
}
