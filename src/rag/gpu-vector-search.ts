/**
 * Exact cosine top-k on WebGPU for large stores: the vector matrix mirrored into one storage buffer (re-uploaded
 * when the CPU index changed), one invocation per row computes its score (shaders/cosine_scores.wgsl), and the k
 * best are picked on the CPU from the read-back scores (4 bytes a row: 0.4 MB at 100k chunks), where metadata
 * filters apply. Same results as VectorIndex.topK up to f32 summation order (checked in its test).
 *
 * The device is the page's: an engine hosted in a worker keeps its GPUDevice there, and WebGPU devices cannot be
 * handed between threads, so the store either gets a device from the caller (a page-hosted engine's, or its own)
 * or opens one on the same adapter.
 */
import cosineWgsl from '../../shaders/cosine_scores.wgsl?raw';
import { topOf, type VectorIndex } from './vector-index.ts';

const WG = 64;
const MAX_X = 65535;

export interface GpuSearchTimings {
  uploadMs: number;
  /** Submit to scores mapped on the CPU. */
  gpuMs: number;
  selectMs: number;
}

export class GpuVectorSearch {
  private pipeline?: Promise<GPUComputePipeline>;
  private matrix?: GPUBuffer;
  private rowsCap = 0;
  private d4 = 0;
  private uploaded?: { index: VectorIndex; version: number; rows: number };
  private queue: Promise<unknown> = Promise.resolve();
  /** The last search's split (for the bench). */
  last?: GpuSearchTimings;

  constructor(readonly device: GPUDevice) {}

  /** Whether `rows` vectors of `dims` fit one binding on this device. */
  fits(rows: number, dims: number): boolean {
    const bytes = rows * Math.ceil(dims / 4) * 16;
    return bytes <= this.device.limits.maxStorageBufferBindingSize && bytes <= this.device.limits.maxBufferSize;
  }

  /** The k rows of `index` most similar to `q` (unit vectors), best first; `accept` filters by key. One search at a time. */
  topK(index: VectorIndex, q: Float32Array, k: number, accept?: (key: string) => boolean): Promise<{ key: string; score: number }[]> {
    const run = this.queue.then(() => this.search(index, q, k, accept));
    this.queue = run.catch(() => {});
    return run;
  }

  destroy(): void {
    this.matrix?.destroy();
    this.matrix = undefined;
    this.uploaded = undefined;
  }

  private async search(index: VectorIndex, q: Float32Array, k: number, accept?: (key: string) => boolean): Promise<{ key: string; score: number }[]> {
    const rows = index.size;
    if (rows === 0 || k <= 0) return [];
    const t0 = performance.now();
    this.sync(index);
    const dev = this.device;
    const d4 = this.d4;
    const qPadded = new Float32Array(d4 * 4);
    qPadded.set(q);
    const qBuf = this.buffer(qPadded.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    dev.queue.writeBuffer(qBuf, 0, qPadded);
    const scores = this.buffer(rows * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const read = this.buffer(rows * 4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const groups = Math.ceil(rows / WG);
    const nx = Math.min(groups, MAX_X);
    const params = this.buffer(16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    dev.queue.writeBuffer(params, 0, new Uint32Array([rows, d4, nx, 0]));
    const pipeline = await (this.pipeline ??= dev.createComputePipelineAsync({ layout: 'auto', compute: { module: dev.createShaderModule({ code: cosineWgsl }), entryPoint: 'main' } }));
    const bind = dev.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [this.matrix!, qBuf, scores, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const t1 = performance.now();
    const enc = dev.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(nx, Math.ceil(groups / nx));
    pass.end();
    enc.copyBufferToBuffer(scores, 0, read, 0, rows * 4);
    dev.queue.submit([enc.finish()]);
    try {
      await read.mapAsync(GPUMapMode.READ);
      const s = new Float32Array(read.getMappedRange().slice(0));
      const t2 = performance.now();
      const best = topOf(s, k, accept ? (r) => accept(index.keyAt(r)) : undefined).map(({ i, score }) => ({ key: index.keyAt(i), score }));
      this.last = { uploadMs: t1 - t0, gpuMs: t2 - t1, selectMs: performance.now() - t2 };
      return best;
    } finally {
      for (const b of [qBuf, scores, read, params]) b.destroy();
    }
  }

  /** Uploads the matrix when the index is another one or changed since (whole: changes come in bursts of adds). */
  private sync(index: VectorIndex): void {
    const u = this.uploaded;
    if (u && u.index === index && u.version === index.version) return;
    const rows = index.size;
    const d4 = Math.ceil(index.dims / 4);
    if (!this.matrix || rows > this.rowsCap || d4 !== this.d4) {
      this.matrix?.destroy();
      // Room to grow by half before the next reallocation, within what one binding may hold.
      const limit = Math.floor(Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize) / (d4 * 16));
      this.rowsCap = Math.max(rows, Math.min(limit, Math.ceil(rows * 1.5)));
      this.d4 = d4;
      this.matrix = this.buffer(this.rowsCap * d4 * 16, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    }
    const m = index.matrix();
    let data = m;
    if (index.dims !== d4 * 4) {
      data = new Float32Array(rows * d4 * 4);
      for (let r = 0; r < rows; r++) data.set(m.subarray(r * index.dims, (r + 1) * index.dims), r * d4 * 4);
    }
    this.device.queue.writeBuffer(this.matrix, 0, data.buffer, data.byteOffset, data.byteLength);
    this.uploaded = { index, version: index.version, rows };
  }

  private buffer(size: number, usage: number): GPUBuffer {
    return this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage });
  }
}
