/**
 * Quantize-on-load's workers in `llmo/node`: worker_threads running `dist/quantize-worker.js` (built beside
 * `dist/node.js` by vite.node.config.ts from src/loader/quantize-worker-node.ts). Where that file is not beside this
 * module (the sources run under vitest, or llmo re-bundled into one file) the worker fails to start and the pool
 * converts in the loading thread (loader/quantize-pool.ts): the same bytes, on one thread.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { defaultQuantizeThreads, provideQuantizeWorkers, type QuantizeReply, type QuantizeWorker } from './loader/quantize-pool.ts';

export function installNodeQuantizeWorkers(): void {
  provideQuantizeWorkers(() => {
    const w = new Worker(new URL('./quantize-worker.js', import.meta.url));
    w.unref(); // a load's pool ends its workers; one left over must not keep the process alive
    const q: QuantizeWorker = {
      post: (req, transfer) => w.postMessage(req, transfer),
      terminate: () => void w.terminate(),
    };
    w.on('message', (r: QuantizeReply) => q.onReply?.(r));
    w.on('error', (e) => q.onFail?.(e));
    w.on('exit', (code) => q.onFail?.(new Error(`quantize worker exited (${code})`)));
    return q;
  }, defaultQuantizeThreads(availableParallelism()));
}
