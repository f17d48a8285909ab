/**
 * LoRA pairs on the GPU. Each adapted matrix W [n, k] gets two buffers the projection kernels read
 * (kernels.ts `LinearOptions.lora`, linear_out.wgsl LORA):
 *   A [r, k] f32, a plain weight matrix: the dispatch before the projection computes u = A·x with it;
 *   lora = [u: maxBatch rows of r | s: r scales | Bᵀ: r rows of n] f32: u is written there, s is the per-rank scale
 *   of the request (its scale × the pair's alpha / r), Bᵀ is read row-major so neighbouring output rows read
 *   neighbouring floats.
 * Several adapters at once on one matrix are their pairs stacked along r (a combined pair: copies on the GPU).
 */
import { GgmlType } from '../model/types.ts';
import { weightFormat } from '../formats/weight-formats.ts';
import type { GpuWeight, WeightStore } from '../gpu/weights.ts';
import type { LoraPair } from './adapter-file.ts';

const F32 = weightFormat(GgmlType.F32)!;

// Read when a buffer is made, not at import: in Node (llmo/node) the GPU globals exist only once Dawn is set up.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** One matrix's low-rank term on the GPU (one adapter's pair, or several stacked). */
export interface GpuLoraPair {
  /** The base matrix's GGUF name. */
  name: string;
  rank: number;
  rows: number;
  cols: number;
  a: GpuWeight;
  lora: GPUBuffer;
  /** Float offset of s in `lora` (Bᵀ follows it). */
  offset: number;
}

function f32Buffer(device: GPUDevice, label: string, floats: number, data?: Float32Array): GPUBuffer {
  const b = device.createBuffer({ label, size: Math.max(16, floats * 4), usage: storageUsage(), mappedAtCreation: !!data });
  if (data) {
    new Float32Array(b.getMappedRange()).set(data);
    b.unmap();
  }
  return b;
}

function aWeight(name: string, rank: number, cols: number, data: GPUBuffer): GpuWeight {
  return { name: `${name}.lora_a`, format: F32, rows: rank, cols, data, bytes: data.size };
}

/** Uploads one adapter's pair (s is written per request: `writeScales`). */
export function uploadPair(device: GPUDevice, name: string, p: LoraPair, uRows: number): GpuLoraPair {
  const offset = uRows * p.rank;
  const lora = new Float32Array(offset + p.rank + p.rank * p.rows);
  // Bᵀ: lora[offset + rank + j·n + row] = B[row, j].
  const bt = offset + p.rank;
  for (let row = 0; row < p.rows; row++) for (let j = 0; j < p.rank; j++) lora[bt + j * p.rows + row] = p.b[row * p.rank + j];
  return {
    name, rank: p.rank, rows: p.rows, cols: p.cols, offset,
    a: aWeight(name, p.rank, p.cols, f32Buffer(device, `${name}.lora_a`, p.a.length, p.a)),
    lora: f32Buffer(device, `${name}.lora`, lora.length, lora),
  };
}

/**
 * Where a base matrix's rows live on the GPU: in its own weight, or as a row range of a fused projection's weight
 * (gpu/projection.ts: q/k/v and gate/up concatenated at graph build).
 */
export interface LoraTarget {
  /** The GPU weight a projection reads (the fused one, when fused). */
  w: GpuWeight;
  /** First row of the adapted matrix in `w`. */
  row0: number;
}

/** The target of every adapted matrix name: its own weight, or its rows in a fused projection. */
export function targetOf(store: WeightStore, name: string): (LoraTarget & { rows: number }) | undefined {
  const own = store.matrices.get(name);
  if (own) return { w: own, row0: 0, rows: own.rows };
  for (const projections of store.fused.values()) {
    for (const p of projections) {
      const part = p.parts.find((q) => q.name === name);
      if (part) return { w: p.w, row0: part.row0, rows: part.rows };
    }
  }
  return undefined;
}

/**
 * Pairs of several adapters and/or several row ranges of one GPU weight as one pair over all its rows: ranks stacked
 * (A rows one after another), each part's Bᵀ columns at its row range, zeros elsewhere (a fused q/k/v weight's k rows
 * get nothing from a pair on q). GPU copies, once per adapter set.
 */
export function stackPairs(device: GPUDevice, w: GpuWeight, parts: readonly { pair: GpuLoraPair; row0: number }[], uRows: number): GpuLoraPair {
  const rows = w.rows;
  const cols = w.cols;
  const rank = parts.reduce((a, p) => a + p.pair.rank, 0);
  const offset = uRows * rank;
  const a = f32Buffer(device, `${w.name}.lora_a+`, rank * cols);
  const lora = f32Buffer(device, `${w.name}.lora+`, offset + rank + rank * rows);
  const enc = device.createCommandEncoder({ label: 'lora.stack' });
  let r0 = 0;
  for (const { pair: p, row0 } of parts) {
    enc.copyBufferToBuffer(p.a.data, 0, a, r0 * cols * 4, p.rank * cols * 4);
    for (let j = 0; j < p.rank; j++) {
      enc.copyBufferToBuffer(p.lora, (p.offset + p.rank + j * p.rows) * 4, lora, (offset + rank + (r0 + j) * rows + row0) * 4, p.rows * 4);
    }
    r0 += p.rank;
  }
  device.queue.submit([enc.finish()]);
  return { name: w.name, rank, rows, cols, offset, a: aWeight(w.name, rank, cols, a), lora };
}

/** Writes the per-rank scales of `pair`: each part's (request scale × alpha / r) over its ranks, in stacking order. */
export function writeScales(device: GPUDevice, pair: GpuLoraPair, parts: readonly { rank: number; scale: number }[]): void {
  const s = new Float32Array(pair.rank);
  let j = 0;
  for (const p of parts) s.fill(p.scale, j, (j += p.rank));
  device.queue.writeBuffer(pair.lora, pair.offset * 4, s);
}

export function destroyPair(p: GpuLoraPair): void {
  p.a.data.destroy();
  p.lora.destroy();
}

export function pairBytes(p: GpuLoraPair): number {
  return p.a.data.size + p.lora.size;
}
