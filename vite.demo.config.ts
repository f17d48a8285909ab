import { defineConfig, mergeConfig } from 'vite';
import viteConfig from './vite.config.ts';
import { KEEP_NAMES } from './vite.lib.config.ts';

/**
 * The demo as a static site in dist-demo/: relative URLs (`base: './'`) so it works from any host and sub-path.
 * The engine's worker is inlined (src/worker/spawn.ts), so the site is index.html plus its assets.
 */
export default mergeConfig(viteConfig, defineConfig({
  base: './',
  publicDir: false,
  worker: { rolldownOptions: KEEP_NAMES },
  build: { outDir: 'dist-demo', emptyOutDir: true, target: 'es2022', sourcemap: true, rolldownOptions: KEEP_NAMES },
}));
