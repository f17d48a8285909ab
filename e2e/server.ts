/**
 * The e2e tests' static host: what a real deployment serves, and nothing from Vite. Routes:
 *   /            → dist-demo/ (the built demo)        /models.json → demo/local-models.json (the local model list)
 *   /shared/     → ../shared/ (models, with Range)     /dist/ and /examples/ → the script-tag bundle and its example
 */
import { createServer, type Server } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { extname, normalize, resolve, sep } from 'node:path';
import { parseRange } from '../test/http-range.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MOUNTS: [prefix: string, dir: string][] = [
  ['/shared/', resolve(ROOT, '..', 'shared')],
  ['/dist/', resolve(ROOT, 'dist')],
  ['/examples/', resolve(ROOT, 'examples')],
  ['/', resolve(ROOT, 'dist-demo')],
];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
};

function resolveFile(path: string): string | undefined {
  if (path === '/models.json') return resolve(ROOT, 'demo', 'local-models.json');
  for (const [prefix, dir] of MOUNTS) {
    if (!path.startsWith(prefix)) continue;
    let file = normalize(resolve(dir, '.' + path.slice(prefix.length - 1)));
    if (file !== dir && !file.startsWith(dir + sep)) return undefined;
    if (path.endsWith('/')) file = resolve(file, 'index.html');
    return file;
  }
  return undefined;
}

export function startServer(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = resolveFile(path);
    let size = -1;
    try {
      if (file && statSync(file).isFile()) size = statSync(file).size;
    } catch {
      size = -1;
    }
    if (!file || size < 0) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Accept-Ranges', 'bytes');
    res.setHeader('Cache-Control', 'no-store');
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return;
    }
    if (range) {
      res.writeHead(206, { 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': String(range.end - range.start + 1) });
      createReadStream(file, range).pipe(res);
      return;
    }
    res.writeHead(200, { 'Content-Length': String(size) });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}
