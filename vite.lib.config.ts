import { defineConfig } from 'vite';

/**
 * Class names survive minification in the bundles: typed errors cross the worker boundary by name
 * (src/worker/error-transfer.ts), so a mangled `ModelFetchError` would reach the page as a plain Error.
 */
export const KEEP_NAMES = { output: { keepNames: true, charset: 'ascii' } } as const;

/**
 * The npm package and the script-tag bundle: `dist/index.js` (ESM) and `dist/llmo.js` (IIFE, global `llmo`).
 * Everything is bundled in, the worker too (inlined as a Blob URL by src/worker/spawn.ts), so either file works
 * alone from any host or CDN. Types come from `tsc -p tsconfig.build.json` (dist/*.d.ts).
 */
export default defineConfig({
  publicDir: false,
  worker: { format: 'es', rolldownOptions: KEEP_NAMES },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: KEEP_NAMES,
    lib: {
      entry: 'src/index.ts',
      name: 'llmo',
      formats: ['es', 'iife'],
      fileName: (format) => (format === 'es' ? 'index.js' : 'llmo.js'),
    },
  },
});
