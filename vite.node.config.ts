import { defineConfig } from 'vite';
import { KEEP_NAMES } from './vite.lib.config.ts';

/**
 * `dist/node.js`, the `llmo/node` entry (src/node.ts): the engine for Node on Dawn. Built after vite.lib.config.ts
 * into the same folder; `webgpu` (Dawn, a native addon the user installs) and Node's own modules stay imports.
 * `dist/quantize-worker.js` beside it is quantize-on-load's worker_threads script (src/node-quantize-workers.ts
 * starts it by its URL relative to node.js); the code both use is one shared chunk, `dist/node-<hash>.js`.
 */
export default defineConfig({
  publicDir: false,
  // Bundle the dependencies in (as dist/index.js does); only the native addon stays outside.
  ssr: { noExternal: true, external: ['webgpu'] },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'node20',
    sourcemap: true,
    ssr: true,
    rolldownOptions: {
      ...KEEP_NAMES,
      input: { node: 'src/node.ts', 'quantize-worker': 'src/loader/quantize-worker-node.ts' },
      external: ['webgpu', /^node:/],
      output: { ...KEEP_NAMES.output, entryFileNames: '[name].js', chunkFileNames: 'node-[hash].js' },
    },
  },
});
