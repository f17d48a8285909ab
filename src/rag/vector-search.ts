/**
 * Where exact vector search runs: the CPU (VectorIndex.topK) for small stores, the GPU (GpuVectorSearch) from
 * `gpuMinChunks` vectors on, on the caller's device or, with 'auto', one opened on first need. 'auto' stays on the CPU
 * on a software adapter (SwiftShader and the like run "GPU" code on the CPU, slower than the CPU loop: BENCHMARKS.md).
 */
import { openGpu } from '../gpu/device.ts';
import { GpuVectorSearch } from './gpu-vector-search.ts';
import type { VectorIndex } from './vector-index.ts';

export type GpuOption = GPUDevice | 'auto' | false;

/** Where the last vector search ran, and why not on the GPU when it did not. */
export interface VectorSearchInfo {
  on: 'cpu' | 'gpu';
  why?: string;
}

/**
 * Collections below this many vectors are searched on the CPU with 'auto'. Not measured on a real GPU yet (none was
 * available); on SwiftShader the CPU loop wins at every size measured, so there the GPU is never chosen by itself.
 */
export const DEFAULT_GPU_MIN_CHUNKS = 20_000;

export class VectorSearch {
  private gpu?: Promise<GpuVectorSearch | string>;
  info: VectorSearchInfo = { on: 'cpu', why: 'no vector search yet' };

  constructor(private readonly option: GpuOption = 'auto', private readonly minChunks = DEFAULT_GPU_MIN_CHUNKS) {}

  async topK(index: VectorIndex, q: Float32Array, k: number, accept?: (key: string) => boolean): Promise<{ key: string; score: number }[]> {
    const g = await this.device(index);
    if (typeof g === 'string') {
      this.info = { on: 'cpu', why: g };
      return index.topK(q, k, accept);
    }
    this.info = { on: 'gpu' };
    return g.topK(index, q, k, accept);
  }

  dispose(): void {
    void this.gpu?.then((g) => typeof g !== 'string' && g.destroy());
  }

  /** The GPU searcher, or why the CPU is used for this index. */
  private async device(index: VectorIndex): Promise<GpuVectorSearch | string> {
    if (this.option === false) return 'gpu: false';
    if (index.size < this.minChunks) return `fewer than ${this.minChunks} vectors`;
    const option = this.option;
    this.gpu ??= option === 'auto'
      ? openGpu().then((gpu) => (gpu.caps.cpu ? `software adapter (${gpu.caps.adapterInfo}): the CPU loop is faster` : new GpuVectorSearch(gpu.device)), (e: Error) => `no GPU device: ${e.message}`)
      : Promise.resolve(new GpuVectorSearch(option));
    const g = await this.gpu;
    if (typeof g !== 'string' && !g.fits(index.size, index.dims)) return 'the vectors exceed one GPU buffer binding';
    return g;
  }
}
