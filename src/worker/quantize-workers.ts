/**
 * Quantize-on-load's workers in the browser: nested dedicated workers started by the engine's worker. Vite's
 * `?worker&inline` makes the worker's code a Blob URL inside the built bundles (dist/index.js, the script-tag
 * dist/llmo.js), as for the engine's own worker (spawn.ts), and a module worker on the dev server.
 */
import QuantizeWorkerScript from '../loader/quantize-worker.ts?worker&inline';
import { defaultQuantizeThreads, provideQuantizeWorkers, type QuantizeReply, type QuantizeWorker } from '../loader/quantize-pool.ts';

/**
 * Registers the workers where this scope can start them. Chromium gives a SharedWorker no `Worker`: there (and
 * wherever starting one throws) the pool converts in the loading thread (loader/quantize-pool.ts).
 */
export function installQuantizeWorkers(): void {
  if (typeof Worker === 'undefined') return;
  provideQuantizeWorkers(() => {
    const w = new QuantizeWorkerScript({ name: 'llmo-quantize' });
    const q: QuantizeWorker = {
      post: (req, transfer) => w.postMessage(req, transfer),
      terminate: () => w.terminate(),
    };
    w.onmessage = (e: MessageEvent<QuantizeReply>) => q.onReply?.(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      q.onFail?.(e);
    };
    w.onmessageerror = (e) => q.onFail?.(e);
    return q;
  }, defaultQuantizeThreads(navigator.hardwareConcurrency));
}
