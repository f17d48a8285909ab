/**
 * The e2e tests' static host: what a real deployment serves, and nothing from Vite. Routes:
 *   /            → dist-demo/ (the built demo)        /models.json → demo/local-models.json (the local model list)
 *   /shared/     → ../shared/ (models, with Range)     /dist/ and /examples/ → the script-tag bundle and its example
 * For tests: `?throttle=<bytes/s>` on any file slows its body down; `GET /__served?path=<path>` answers
 * `{ requests, bytes }` served for that path (query ignored) since the server started.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
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

/** Requests and body bytes served per path, for tests that count downloads (two tabs, one download). */
const served = new Map<string, { requests: number; bytes: number }>();

/** Pipes a file range at about `bytesPerSec`, so a test can act while a download is still running. */
function sendThrottled(file: string, range: { start: number; end: number } | undefined, res: ServerResponse, bytesPerSec: number): void {
  const stream = createReadStream(file, { ...range, highWaterMark: 64 << 10 });
  stream.on('data', (c) => {
    stream.pause();
    res.write(c);
    setTimeout(() => stream.resume(), (c.length / bytesPerSec) * 1000);
  });
  stream.on('end', () => res.end());
  res.on('close', () => stream.destroy());
}

export function startServer(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(u.pathname);
    if (path === '/__served') {
      const c = served.get(u.searchParams.get('path') ?? '') ?? { requests: 0, bytes: 0 };
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify(c));
      return;
    }
    const count = served.get(path) ?? { requests: 0, bytes: 0 };
    served.set(path, count);
    count.requests++;
    const throttle = Number(u.searchParams.get('throttle')) || 0;
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
      count.bytes += range.end - range.start + 1;
      if (throttle) sendThrottled(file, range, res, throttle);
      else createReadStream(file, range).pipe(res);
      return;
    }
    res.writeHead(200, { 'Content-Length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    count.bytes += size;
    if (throttle) sendThrottled(file, undefined, res, throttle);
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}
