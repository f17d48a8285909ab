import { defineConfig, type Plugin } from 'vite';
import { createReadStream, statSync } from 'node:fs';
import { resolve, normalize, sep } from 'node:path';
import { fixtureMiddleware } from './test/fixture-server.ts';
import { parseRange } from './test/http-range.ts';
import { faultMiddleware } from './test/fault-server.ts';
import { encoderFixtureMiddleware } from './test/encoder-fixture-server.ts';

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
        const range = parseRange(req.headers.range, size);
        if (range === 'unsatisfiable') {
          res.statusCode = 416;
          res.setHeader('Content-Range', `bytes */${size}`);
          return res.end();
        }
        if (range) {
          res.statusCode = 206;
          res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
          res.setHeader('Content-Length', String(range.end - range.start + 1));
          createReadStream(file, range).pipe(res);
          return;
        }
        res.setHeader('Content-Length', String(size));
        createReadStream(file).pipe(res);
      });
      // Random-weight fixture models, generated on request (test/fixture-server.ts).
      server.middlewares.use('/fixtures', fixtureMiddleware);
      server.middlewares.use('/encoder-fixtures', encoderFixtureMiddleware);
      // ../shared with switchable download faults, for the cache/resume tests (test/fault-server.ts).
      server.middlewares.use(faultMiddleware);
    },
  };
}

/** Dev server only: the demo's local model list (demo/local-models.json, models in ../shared) at `/models.json`. */
export function serveDemoModels(): Plugin {
  return {
    name: 'llmo-demo-models',
    configureServer(server) {
      server.middlewares.use('/models.json', (_req, res) => {
        res.setHeader('Content-Type', 'application/json');
        createReadStream(resolve(import.meta.dirname, 'demo', 'local-models.json')).pipe(res);
      });
    },
  };
}

export default defineConfig({
  plugins: [serveShared(), serveDemoModels()],
  server: { fs: { allow: ['.', SHARED_DIR] } },
  worker: { format: 'es' },
  assetsInclude: ['**/*.wgsl'],
});
