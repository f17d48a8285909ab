/**
 * Quantize-on-load's workers: bands of rows (quantize-band.ts) converted on a few threads while the download goes
 * on. The environment provides the workers (`provideQuantizeWorkers`): the engine's Web Worker starts nested
 * dedicated workers (src/worker/quantize-workers.ts), `llmo/node` worker_threads (src/node-quantize-workers.ts).
 * Without a provider (an in-page engine, a SharedWorker where `Worker` is missing), with `quantizeThreads: 0`, or
 * when a worker cannot start or dies, bands are converted in the calling thread as before: same bytes, slower.
 */
import { quantizeBand, type QuantizeJob } from './quantize-band.ts';

export interface QuantizeRequest {
  id: number;
  job: QuantizeJob;
}
export type QuantizeReply = { id: number; bytes: Uint8Array } | { id: number; error: string };

/** One worker as the pool sees it (a Web Worker or a worker_threads Worker behind the same four members). */
export interface QuantizeWorker {
  post(req: QuantizeRequest, transfer: ArrayBuffer[]): void;
  /** Set by the pool before the first post. */
  onReply?: (r: QuantizeReply) => void;
  /** The worker could not start or died (the pool converts its band in-thread and stops using it). */
  onFail?: (e: unknown) => void;
  terminate(): void;
}

interface Provider {
  spawn: () => QuantizeWorker;
  /** Threads used when the load does not say (hardware threads, capped). */
  threads: number;
}
let provider: Provider | undefined;

/** At most this many quantize workers by default: past 8 the download, not the quantizer, sets the pace. */
export const MAX_DEFAULT_QUANTIZE_THREADS = 8;

/** How many workers `hardwareThreads` allows by default: all of them (the loading thread mostly waits), capped. */
export const defaultQuantizeThreads = (hardwareThreads: number | undefined): number =>
  Math.max(1, Math.min(MAX_DEFAULT_QUANTIZE_THREADS, Math.floor(hardwareThreads ?? 1)));

/** Called once by the environment that can start workers; `threads` is the default pool size. undefined: none. */
export function provideQuantizeWorkers(spawn: (() => QuantizeWorker) | undefined, threads = 0): void {
  provider = spawn && { spawn, threads };
}

interface Pending {
  job: QuantizeJob;
  resolve: (b: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/**
 * A pool for one load: `run` converts a band on the next free worker; `close` ends the workers. Workers start on the
 * first band (a load that converts nothing starts none). `threads` 0 (or no provider): every band in-thread.
 */
export class QuantizePool {
  private readonly idle: QuantizeWorker[] = [];
  private readonly busy = new Map<QuantizeWorker, { id: number; p: Pending }>();
  private readonly queue: Pending[] = [];
  private started = false;
  private nextId = 0;
  private closed = false;
  /** Workers asked for (0: in-thread). */
  readonly threads: number;

  constructor(threads?: number) {
    this.threads = provider ? Math.max(0, Math.floor(threads ?? provider.threads)) : 0;
  }

  /** Whether any band was converted. */
  get used(): boolean {
    return this.started;
  }

  /** Live workers (fewer than `threads` once some failed). */
  get workers(): number {
    return this.idle.length + this.busy.size;
  }

  /** The band converted (the job's bytes are only read). */
  run(job: QuantizeJob): Promise<Uint8Array> {
    if (!this.started) this.start();
    if (this.workers === 0) return inThread(job);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.idle, ...this.busy.keys()]) w.terminate();
    this.idle.length = 0;
    for (const { p } of this.busy.values()) p.reject(new Error('quantize pool closed'));
    this.busy.clear();
    for (const p of this.queue.splice(0)) p.reject(new Error('quantize pool closed'));
  }

  private start(): void {
    this.started = true;
    for (let i = 0; i < this.threads; i++) {
      let w: QuantizeWorker;
      try {
        w = provider!.spawn();
      } catch {
        break; // cannot start workers here: the remaining bands run in-thread
      }
      w.onReply = (r) => this.reply(w, r);
      w.onFail = () => this.fail(w);
      this.idle.push(w);
    }
  }

  private pump(): void {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.pop()!;
      const p = this.queue.shift()!;
      const id = this.nextId++;
      this.busy.set(w, { id, p });
      // The worker gets a copy (transferred): the original stays here until the reply, so a worker that dies with
      // the band (or never started: its error comes after the first post) leaves it to be converted in-thread.
      const job = { ...p.job, bytes: p.job.bytes.slice() };
      try {
        w.post({ id, job }, [job.bytes.buffer as ArrayBuffer]);
      } catch {
        this.fail(w);
      }
    }
  }

  private reply(w: QuantizeWorker, r: QuantizeReply): void {
    const b = this.busy.get(w);
    if (!b || b.id !== r.id) return;
    this.busy.delete(w);
    this.idle.push(w);
    // A worker's error is reproduced in-thread, where it is thrown with its own type.
    if ('error' in r) inThread(b.p.job).then(b.p.resolve, b.p.reject);
    else b.p.resolve(r.bytes);
    this.pump();
  }

  /** A worker that failed is dropped; its band, and every band once no worker is left, is converted in-thread. */
  private fail(w: QuantizeWorker): void {
    if (this.closed) return;
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    const b = this.busy.get(w);
    this.busy.delete(w);
    try {
      w.terminate();
    } catch { /* already gone */ }
    if (b) inThread(b.p.job).then(b.p.resolve, b.p.reject);
    if (this.workers === 0) for (const p of this.queue.splice(0)) inThread(p.job).then(p.resolve, p.reject);
    else this.pump();
  }
}

function inThread(job: QuantizeJob): Promise<Uint8Array> {
  return new Promise((resolve) => resolve(quantizeBand(job)));
}
