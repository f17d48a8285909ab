import { defineConfig } from 'vite';

/**
 * Class names survive minification in the bundles: typed errors cross the worker boundary by name
 * (src/worker/error-transfer.ts), so a mangled `ModelFetchError` would reach the page as a plain Error.
 */
export const KEEP_NAMES = { output: { keepNames: true, charset: 'ascii' } } as const;

/** The package's ES entry points: `llmo`, `llmo/ai-sdk`, `llmo/prompt-api` (they share one engine chunk). */
export const ES_ENTRIES = { index: 'src/index.ts', 'ai-sdk': 'src/ai-sdk.ts', 'prompt-api': 'src/prompt-api.ts' };

/**
 * The npm package: `dist/index.js` and the integration entries (ESM). Everything is bundled in, the worker too
 * (inlined as a Blob URL by src/worker/spawn.ts), so the files work from any host or CDN; the integrations import
 * only the types of the packages they adapt to. The script-tag bundle `dist/llmo.js` (IIFE, one entry) comes from
 * vite.iife.config.ts. Types come from `tsc -p tsconfig.build.json` (dist/*.d.ts).
 */
export default defineConfig({
  publicDir: false,
  // Asset URLs (the SharedWorker file) relative to the bundle: the package is served from any path or CDN.
  base: './',
  worker: { format: 'es', rolldownOptions: KEEP_NAMES },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // The engine shared by the entries is one chunk, `dist/llmo-<hash>.js`.
    rolldownOptions: { output: { ...KEEP_NAMES.output, chunkFileNames: 'llmo-[hash].js' } },
    lib: {
      entry: ES_ENTRIES,
      formats: ['es'],
      fileName: (_format, name) => `${name}.js`,
    },
  },
});
