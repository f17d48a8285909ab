import { defineConfig, type Plugin } from 'vite';
import { createReadStream, statSync } from 'node:fs';
import { resolve, normalize, sep } from 'node:path';
import { fixtureMiddleware } from './test/fixture-server.ts';

/** Repo-relative folder with the offline test data (models, tokenizers, templates). Never copied into the repo. */
export const SHARED_DIR = resolve(import.meta.dirname, '..', 'shared');

/**
 * Serves `../shared` at `/shared/` with HTTP Range support, so the demo and browser tests load real model
 * files through the same fetch path users hit on a real host.
 */
export function serveShared(): Plugin {
  return {
    name: 'llmo-serve-shared',
    configureServer(server) {
      server.middlewares.use('/shared', (req, res, next) => {
        const rel = decodeURIComponent((req.url ?? '/').split('?')[0]);
        const file = normalize(resolve(SHARED_DIR, '.' + rel));
        if (!file.startsWith(SHARED_DIR + sep)) return next();
        let size: number;
        try {
          const st = statSync(file);
          if (!st.isFile()) return next();
          size = st.size;
        } catch {
          res.statusCode = 404;
          return res.end('not found');
        }
        res.setHeader('Accept-Ranges', 'bytes');
        res.setHeader('Content-Type', 'application/octet-stream');
        const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
        if (range) {
          const start = range[1] ? Number(range[1]) : size - Number(range[2]);
          const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
          if (start > end || start >= size) {
            res.statusCode = 416;
            res.setHeader('Content-Range', `bytes */${size}`);
            return res.end();
          }
          res.statusCode = 206;
          res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
          res.setHeader('Content-Length', String(end - start + 1));
          createReadStream(file, { start, end }).pipe(res);
          return;
        }
        res.setHeader('Content-Length', String(size));
        createReadStream(file).pipe(res);
      });
      // Random-weight fixture models, generated on request (test/fixture-server.ts).
      server.middlewares.use('/fixtures', fixtureMiddleware);
    },
  };
}

export default defineConfig({
  plugins: [serveShared()],
  server: { fs: { allow: ['.', SHARED_DIR] } },
  worker: { format: 'es' },
  assetsInclude: ['**/*.wgsl'],
});
