/**
 * A Vite middleware that serves ../shared files with faults a test switches on and off, to check that downloads fail
 * with typed errors and recover:
 *   GET  /faulty/<key>/<path under shared>             e.g. /faulty/t1/models/sotu-5m/sotu-5m-q8_0.gguf
 *   GET  /faulty/<key>/hub/<owner>/<repo>/resolve/<rev>/<file>
 *        a Hugging Face-like layout: <repo> is a folder of shared/models, only revision `main` exists, and answers
 *        carry `x-linked-etag` (the file's sha256 from shared/models/SHA256SUMS) as the hub does for LFS files.
 *   GET  /faulty/<key>/split<N>/<path>-0000i-of-0000N.gguf
 *        shard i of <path>.gguf split in N (tes./split-model.ts), as llama.cpp's gguf-split would write it
 *   GET  /faulty/<key>/stsplit<N>/<fixture spec>/<file>
 *        a safetensors fixture (test/fixture-server.ts specs) saved in N shards: model-0000i-of-0000N.safetensors,
 *        model.safetensors.index.json, config.json, tokenizer.json, tokenizer_config.json
 *   POST /__faults {"key","faults"?:Faults,"reset"?:true}  sets (or clears) the key's faults; reset zeroes its counters
 *   GET  /__faults?key=<key>                           {requests, bytes, ranges[]} served for that key
 * Faults apply to every request of the key until changed. Node-side only (never shipped).
 */
import type { Connect } from 'vite';
import type { ServerResponse } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { resolve, normalize, sep } from 'node:path';
import { parseRange } from './http-range.ts';
import { splitGguf, splitSafetensors } from './split-model.ts';
import { fixtureOptions } from './fixture-server.ts';
import { makeSafetensorsFixture } from './fixtures/fixture.ts';

export interface Faults {
  /** Answer every request with this HTTP status (404, 416, 500…). */
  status?: number;
  /** Body bytes per second. */
  throttle?: number;
  /** Destroy the connection once this key has sent this many body bytes in all (counted from when faults were set). */
  cutAfter?: number;
  /** Announce this many bytes more than the body has (Content-Length). */
  lieLength?: number;
  /** Flip the byte at these absolute file offsets. */
  corrupt?: number[];
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
}

export interface FaultStats {
  requests: number;
  bytes: number;
  /** `start-end` of each ranged request, or `all`. */
  ranges: string[];
}

const SHARED = resolve(import.meta.dirname, '..', '..', 'shared');
const state = new Map<string, { faults: Faults; stats: FaultStats; sentSinceFaults: number }>();
const files = new Map<string, Uint8Array>();
let sums: Map<string, string> | undefined;

function keyState(key: string) {
  let s = state.get(key);
  if (!s) {
    s = { faults: {}, stats: { requests: 0, bytes: 0, ranges: [] }, sentSinceFaults: 0 };
    state.set(key, s);
  }
  return s;
}

function sha256Of(rel: string): string | undefined {
  if (!sums) {
    sums = new Map();
    for (const line of readFileSync(resolve(SHARED, 'models', 'SHA256SUMS'), 'utf8').split('\n')) {
      const [h, f] = line.trim().split(/\s+/);
      if (h && f) sums.set(`models/${f}`, h);
    }
  }
  return sums.get(rel);
}

function readShared(rel: string): Uint8Array | undefined {
  const file = normalize(resolve(SHARED, rel));
  if (!file.startsWith(SHARED + sep)) return undefined;
  try {
    if (!statSync(file).isFile()) return undefined;
  } catch {
    return undefined;
  }
  let b = files.get(file);
  if (!b) {
    b = new Uint8Array(readFileSync(file));
    files.set(file, b);
  }
  return b;
}

const shards = new Map<string, Uint8Array[]>();
function splitShard(rel: string, n: number, i: number, count: number): Uint8Array | undefined {
  const whole = readShared(rel);
  if (!whole || count !== n || i < 1 || i > n) return undefined;
  let parts = shards.get(`${rel}/${n}`);
  if (!parts) {
    parts = splitGguf(whole, n);
    shards.set(`${rel}/${n}`, parts);
  }
  return parts[i - 1];
}

const stShards = new Map<string, Map<string, Uint8Array>>();
function safetensorsShard(spec: string, n: number, file: string): Uint8Array | undefined {
  let files = stShards.get(`${spec}/${n}`);
  if (!files) {
    const fx = makeSafetensorsFixture(fixtureOptions(spec));
    files = splitSafetensors(fx.safetensors, n);
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    files.set('config.json', json(fx.configJson));
    files.set('tokenizer.json', json(fx.tokenizerJson));
    files.set('tokenizer_config.json', json(fx.tokenizerConfigJson));
    stShards.set(`${spec}/${n}`, files);
  }
  return files.get(file);
}

async function readBody(req: Connect.IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += c;
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function send(res: ServerResponse, body: Uint8Array, key: string, f: Faults): Promise<void> {
  const s = keyState(key);
  const piece = 64 << 10;
  for (let off = 0; off < body.byteLength; off += piece) {
    let part = body.subarray(off, Math.min(body.byteLength, off + piece));
    if (f.cutAfter !== undefined) {
      const left = f.cutAfter - s.sentSinceFaults;
      if (left < part.byteLength) {
        if (left > 0) {
          part = part.subarray(0, left);
          s.sentSinceFaults += left;
          s.stats.bytes += left;
          await new Promise<void>((r) => res.write(part, () => r()));
        }
        res.destroy(); // the connection breaks mid-body
        return;
      }
    }
    s.sentSinceFaults += part.byteLength;
    s.stats.bytes += part.byteLength;
    const ok = res.write(part);
    if (f.throttle) await sleep((part.byteLength / f.throttle) * 1000);
    else if (!ok) await new Promise((r) => res.once('drain', r));
    if (res.destroyed) return;
  }
  if (f.lieLength) {
    // Fewer bytes than announced: the client must see the connection end early, not wait for the rest.
    await new Promise<void>((r) => res.write(new Uint8Array(0), () => r()));
    res.destroy();
    return;
  }
  res.end();
}

export const faultMiddleware: Connect.NextHandleFunction = (req, res, next) => {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/__faults') {
    if (req.method === 'POST') {
      void readBody(req).then((text) => {
        const { key, faults, reset } = JSON.parse(text) as { key: string; faults?: Faults; reset?: boolean };
        const s = keyState(key);
        s.faults = faults ?? {};
        s.sentSinceFaults = 0;
        if (reset) s.stats = { requests: 0, bytes: 0, ranges: [] };
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(s.stats));
      });
      return;
    }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(keyState(url.searchParams.get('key') ?? '').stats));
    return;
  }
  const m = /^\/faulty\/([^/]+)\/(.+)$/.exec(decodeURIComponent(url.pathname));
  if (!m) return next();
  const [, key, rest] = m;
  let rel = rest;
  let hub = false;
  const h = /^hub\/[^/]+\/([^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(rest);
  if (h) {
    hub = true;
    rel = h[2] === 'main' ? `models/${h[1]}/${h[3]}` : '';
  }
  const s = keyState(key);
  const f = s.faults;
  s.stats.requests++;
  const sp = /^split(\d+)\/(.+)-(\d{5})-of-(\d{5})\.gguf$/.exec(rest);
  const st = /^stsplit(\d+)\/([^/]+)\/([^/]+)$/.exec(rest);
  const body = sp ? splitShard(`${sp[2]}.gguf`, Number(sp[1]), Number(sp[3]), Number(sp[4]))
    : st ? safetensorsShard(st[2], Number(st[1]), st[3])
    : rel ? readShared(rel) : undefined;
  if (!body) {
    res.statusCode = 404;
    return res.end('not found');
  }
  if (f.status) {
    res.statusCode = f.status;
    s.stats.ranges.push(`status ${f.status}`);
    return res.end(`fault: status ${f.status}`);
  }
  let bytes = body;
  if (f.corrupt?.length) {
    bytes = body.slice();
    for (const o of f.corrupt) if (o < bytes.length) bytes[o] ^= 0xff;
  }
  const size = bytes.byteLength;
  res.setHeader('Accept-Ranges', f.ignoreRange ? 'none' : 'bytes');
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('ETag', `"${size}-${rel.length}"`);
  const sha = hub ? sha256Of(rel) : undefined;
  if (sha) res.setHeader('x-linked-etag', `"${sha}"`);
  const range = f.ignoreRange ? undefined : parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    s.stats.ranges.push('416');
    return res.end();
  }
  let part = bytes;
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    part = bytes.subarray(range.start, range.end + 1);
    s.stats.ranges.push(`${range.start}-${range.end}`);
  } else {
    s.stats.ranges.push('all');
  }
  res.setHeader('Content-Length', String(part.byteLength + (f.lieLength ?? 0)));
  void send(res, part, key, f);
};
