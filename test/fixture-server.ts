/**
 * Vite middleware that serves random-weight fixture models made by the project's fixture generator, so tests and
 * benchmarks load them by URL through the same fetch path as real models. URL:
 *   /fixtures/<shape>~<arch>~<type>~s<seed>[~tied][~untied][~llama3][~qk<scale>][~L<layers>]/<file>
 * (qk<scale>: Q/K weights times <scale>, so attention is peaked enough to show window and RoPE mistakes; L<layers>:
 * the shape with that many layers, to keep a realistic shape affordable in tests)
 * shape: a key of FIXTURE_SHAPES; file: model.gguf | model.safetensors | config.json | tokenizer.json | tokenizer_config.json
 */
import type { Connect } from 'vite';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FIXTURE_SHAPES, makeFixture, makeSafetensorsFixture, type FixtureOptions, type FixtureType } from './fixtures/fixture.ts';
import type { Architecture } from '../src/model/types.ts';
import { parseRange } from './http-range.ts';

export function fixtureOptions(spec: string): FixtureOptions {
  const [shapeName, arch, type, seed, ...flags] = spec.split('~');
  const shape = FIXTURE_SHAPES[shapeName as keyof typeof FIXTURE_SHAPES];
  if (!shape || !arch || !type || !seed?.startsWith('s')) throw new Error(`bad fixture spec ${spec}`);
  const llama3 = flags.includes('llama3') ? { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 64 } : undefined;
  return {
    arch: arch as Architecture,
    type: type as FixtureType,
    seed: Number(seed.slice(1)),
    dims: { ...shape.dims, nLayers: Number(flags.find((f) => /^L\d+$/.test(f))?.slice(1) ?? shape.dims.nLayers) },
    tied: flags.includes('tied') ? true : flags.includes('untied') ? false : shape.tied,
    ropeTheta: shape.ropeTheta,
    normEps: shape.normEps,
    ropeScaling: llama3 ?? ('ropeScaling' in shape ? shape.ropeScaling : undefined),
    longRope: 'longRope' in shape ? shape.longRope : undefined,
    ropeDim: 'ropeDim' in shape ? shape.ropeDim : undefined,
    config: 'config' in shape ? { ...shape.config } : undefined,
    qkScale: Number(flags.find((f) => /^qk[\d.]+$/.test(f))?.slice(2) ?? 1),
  };
}

/** Serves `bytes` honouring a single `Range: bytes=a-b` request. */
export function sendBytes(req: IncomingMessage, res: ServerResponse, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const size = bytes.byteLength;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Type', type);
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    res.statusCode = 416;
    res.setHeader('Content-Range', `bytes */${size}`);
    res.end();
    return;
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    res.setHeader('Content-Length', String(range.end - range.start + 1));
    res.end(Buffer.from(bytes.buffer, bytes.byteOffset + range.start, range.end - range.start + 1));
    return;
  }
  res.setHeader('Content-Length', String(size));
  res.end(Buffer.from(bytes.buffer, bytes.byteOffset, size));
}

const stCache = new Map<string, ReturnType<typeof makeSafetensorsFixture>>();
function safetensorsFixture(spec: string, o: FixtureOptions) {
  let v = stCache.get(spec);
  if (!v) {
    v = makeSafetensorsFixture(o);
    stCache.clear();
    stCache.set(spec, v);
  }
  return v;
}

const cache = new Map<string, Uint8Array>();
function cached(key: string, make: () => Uint8Array): Uint8Array {
  let v = cache.get(key);
  if (!v) {
    v = make();
    cache.set(key, v);
    // Keep memory bounded: realistic shapes are ~100-700 MB each.
    let total = 0;
    for (const b of cache.values()) total += b.byteLength;
    for (const k of cache.keys()) {
      if (total <= 1.5e9 || k === key) break;
      total -= cache.get(k)!.byteLength;
      cache.delete(k);
    }
  }
  return v;
}

export const fixtureMiddleware: Connect.NextHandleFunction = (req, res, next) => {
  const m = /^\/([^/]+)\/([^/?]+)/.exec(decodeURIComponent(req.url ?? ''));
  if (!m) return next();
  const [, spec, file] = m;
  try {
    const o = fixtureOptions(spec);
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    let body: Uint8Array;
    if (file === 'model.gguf') body = cached(`${spec}/gguf`, () => makeFixture(o).gguf);
    else if (file === 'model.safetensors') body = safetensorsFixture(spec, o).safetensors;
    else if (file === 'config.json') body = json(safetensorsFixture(spec, o).configJson);
    else if (file === 'tokenizer.json') body = json(safetensorsFixture(spec, o).tokenizerJson);
    else if (file === 'tokenizer_config.json') body = json(safetensorsFixture(spec, o).tokenizerConfigJson);
    else {
      res.statusCode = 404;
      return res.end('no such fixture file');
    }
    sendBytes(req, res, body, file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  } catch (e) {
    res.statusCode = 400;
    res.end(String((e as Error).message));
  }
};
