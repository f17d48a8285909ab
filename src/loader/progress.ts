/**
 * Turns byte counts from several files (network or cache) into LoadProgress events: overall and per-file bytes,
 * the phase ('download' while any byte comes from the network, 'cache' when all come from IndexedDB), speed over the
 * last few seconds and the time left. Events are throttled so a fast cache read does not flood the worker channel.
 */
import type { ByteOrigin } from './fetch-options.ts';

export type LoadPhase = 'download' | 'cache' | 'upload' | 'compile' | 'ready';

export interface LoadProgress {
  /** 'download': bytes arriving from the network (tensors go to the GPU as they complete); 'cache': the same from
   *  IndexedDB; then 'upload' (last tensors), 'compile' (pipelines), 'ready'. */
  phase: LoadPhase;
  /** Bytes of the model's files received so far (all files). */
  loaded: number;
  /** Total bytes, when known. */
  total?: number;
  /** 0..1 over the whole load (download dominates; compile is the last few percent). */
  fraction: number;
  /** File being read. */
  file: string;
  /** Every file of the model so far (shards, config.json, tokenizer.json) with its bytes. */
  files?: { file: string; loaded: number; total?: number }[];
  /** Speed over the last few seconds, and the time left at that speed. */
  bytesPerSec?: number;
  etaSec?: number;
}

const WINDOW_MS = 3000;
const MIN_INTERVAL_MS = 50;
/** Streaming ends at this fraction; the upload tail and pipeline compile take the rest. */
export const STREAM_FRACTION = 0.97;

export class ProgressTracker {
  readonly files: { file: string; loaded: number; total?: number }[] = [];
  private samples: { t: number; bytes: number }[] = [];
  private loaded = 0;
  private lastEmit = -Infinity;
  private networkBytes = 0;

  constructor(private readonly onProgress?: (p: LoadProgress) => void, private readonly now: () => number = () => performance.now()) {}

  /** Registers a file; returns its index for `add`. */
  addFile(file: string, total?: number): number {
    this.files.push({ file, loaded: 0, total });
    return this.files.length - 1;
  }

  setTotal(i: number, total: number | undefined): void {
    this.files[i].total = total;
  }

  add(i: number, n: number, from: ByteOrigin): void {
    this.files[i].loaded += n;
    this.loaded += n;
    if (from === 'network') this.networkBytes += n;
    const t = this.now();
    this.samples.push({ t, bytes: this.loaded });
    while (this.samples.length > 2 && this.samples[0].t < t - WINDOW_MS) this.samples.shift();
    if (t - this.lastEmit >= MIN_INTERVAL_MS || this.fileDone(i)) {
      this.lastEmit = t;
      this.emit(i, from === 'network' || this.networkBytes > 0 ? 'download' : 'cache');
    }
  }

  /** Total bytes when every file's size is known. */
  total(): number | undefined {
    let sum = 0;
    for (const f of this.files) {
      if (f.total === undefined) return undefined;
      sum += f.total;
    }
    return sum;
  }

  bytesPerSec(): number | undefined {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t - a.t < 100) return undefined;
    return ((b.bytes - a.bytes) * 1000) / (b.t - a.t);
  }

  snapshot(phase: LoadProgress['phase'], fileIndex: number, fraction?: number): LoadProgress {
    const total = this.total();
    const speed = this.bytesPerSec();
    return {
      phase,
      loaded: this.loaded,
      total,
      fraction: fraction ?? (total ? Math.min(STREAM_FRACTION, (STREAM_FRACTION * this.loaded) / total) : 0),
      file: this.files[fileIndex]?.file ?? '',
      files: this.files.map((f) => ({ ...f })),
      bytesPerSec: speed,
      etaSec: speed && total ? Math.max(0, total - this.loaded) / speed : undefined,
    };
  }

  emit(fileIndex: number, phase: LoadProgress['phase'], fraction?: number): void {
    this.onProgress?.(this.snapshot(phase, fileIndex, fraction));
  }

  private fileDone(i: number): boolean {
    const f = this.files[i];
    return f.total !== undefined && f.loaded >= f.total;
  }
}
