import { defineConfig } from 'vite';
import { KEEP_NAMES } from './vite.lib.config.ts';

/**
 * `dist/node.js`, the `llmo/node` entry (src/node.ts): the engine for Node on Dawn. Built after vite.lib.config.ts
 * into the same folder; `webgpu` (Dawn, a native addon the user installs) and Node's own modules stay imports.
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
    ssr: 'src/node.ts',
    rolldownOptions: { ...KEEP_NAMES, external: ['webgpu', /^node:/], output: { ...KEEP_NAMES.output, entryFileNames: 'node.js' } },
  },
});
