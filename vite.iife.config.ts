import { defineConfig } from 'vite';
import { resolve } from 'node:path';
import { KEEP_NAMES } from './vite.lib.config.ts';

/**
 * The script-tag bundle `dist/llmo.js` (IIFE, global `llmo`): the engine, its worker and kernels in one file. Built
 * after vite.lib.config.ts into the same folder (an IIFE build takes one entry; the ES build has several).
 */
export default defineConfig({
  publicDir: false,
  // One file, no import.meta.url: no SharedWorker file to start, so `shared: true` falls back to a dedicated worker.
  resolve: { alias: [{ find: /^\.\/worker\/spawn-shared\.ts$/, replacement: resolve(import.meta.dirname, 'src/worker/spawn-shared-none.ts') }] },
  worker: { format: 'es', rolldownOptions: KEEP_NAMES },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: KEEP_NAMES,
    lib: { entry: 'src/index.ts', name: 'llmo', formats: ['iife'], fileName: () => 'llmo.js' },
  },
});
