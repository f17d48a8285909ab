/**
 * Starts the engine's Web Worker. Vite's `?worker&inline` import gives the dev server (and the tests) an ordinary
 * module worker, and in the built bundles (dist/index.js, dist/llmo.js) a self-contained worker bundle started from
 * a Blob URL, so a page that uses llmo hosts one file and nothing else.
 */
import LlmoWorker from './worker.ts?worker&inline';

export function spawnWorker(): Worker {
  return new LlmoWorker({ name: 'llmo' });
}
