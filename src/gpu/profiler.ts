import { encodeDispatch, type Dispatch } from './kernels.ts';

/** GPU time of one kernel (dispatch label without its `blk.N.` layer prefix), summed over layers and steps. */
export interface KernelTime {
  kernel: string;
  ms: number;
  /** Dispatches timed. */
  calls: number;
}

/**
 * Times each dispatch of a step with `timestamp-query`: one compute pass per dispatch with begin/end timestamps,
 * resolved and copied to a mappable buffer in the same command buffer. Everything is allocated up front (sized for
 * the longest dispatch list), so profiling adds no allocation per step either.
 */
export class KernelProfiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly staging: GPUBuffer;
  private labels: string[] = [];
  private readonly totals = new Map<string, { ns: number; calls: number }>();

  constructor(device: GPUDevice, private readonly maxDispatches: number) {
    this.querySet = device.createQuerySet({ label: 'profile', type: 'timestamp', count: 2 * maxDispatches });
    const size = 16 * maxDispatches;
    this.resolved = device.createBuffer({ label: 'profile.resolve', size, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.staging = device.createBuffer({ label: 'profile.read', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Encodes `lists` (in order), each dispatch in its own timed pass. */
  encode(enc: GPUCommandEncoder, lists: readonly (readonly Dispatch[])[], nTokens: number, kvLen = nTokens): void {
    this.labels = [];
    for (const list of lists) {
      for (const d of list) {
        // A dispatch with nothing to do at this step (split-K's merge at short contexts) is not run, so not timed.
        if (d.grid(nTokens, kvLen).includes(0)) continue;
        const i = this.labels.length;
        if (i >= this.maxDispatches) throw new Error(`profiler sized for ${this.maxDispatches} dispatches`);
        const pass = enc.beginComputePass({
          timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
        encodeDispatch(pass, d, nTokens, kvLen);
        pass.end();
        this.labels.push(d.label);
      }
    }
    enc.resolveQuerySet(this.querySet, 0, 2 * this.labels.length, this.resolved, 0);
    enc.copyBufferToBuffer(this.resolved, 0, this.staging, 0, 16 * this.labels.length);
  }

  /** Reads the timestamps of the last encoded step (after its submit) into the totals. */
  async collect(): Promise<void> {
    const n = this.labels.length;
    if (n === 0) return;
    await this.staging.mapAsync(GPUMapMode.READ, 0, 16 * n);
    const t = new BigUint64Array(this.staging.getMappedRange(0, 16 * n));
    for (let i = 0; i < n; i++) {
      const key = this.labels[i].replace(/^blk\.\d+\./, '');
      const e = this.totals.get(key) ?? { ns: 0, calls: 0 };
      // Timestamps may be reset between passes by some drivers: ignore negative intervals rather than wrap.
      const dt = t[2 * i + 1] > t[2 * i] ? Number(t[2 * i + 1] - t[2 * i]) : 0;
      e.ns += dt;
      e.calls++;
      this.totals.set(key, e);
    }
    this.staging.unmap();
    this.labels = [];
  }

  /** Per-kernel totals, longest first. */
  times(): KernelTime[] {
    return [...this.totals.entries()]
      .map(([kernel, e]) => ({ kernel, ms: e.ns / 1e6, calls: e.calls }))
      .sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
    this.staging.destroy();
  }
}
