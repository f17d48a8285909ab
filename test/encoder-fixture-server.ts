/**
 * Vite middleware serving random-weight encoder fixtures (test/fixtures/bert-fixture.ts) with all-MiniLM-L6-v2's real
 * WordPiece vocabulary from ../shared. URL: /encoder-fixtures/<shape>~<type>~s<seed>~<pooling>/<file>, file: model.gguf,
 * or the HF checkpoint (bert): model.safetensors, config.json, 1_Pooling/config.json and the real MiniLM tokenizer.json,
 * tokenizer_config.json, modules.json
 * (shape: a key of ENCODER_SHAPES; pooling: mean | cls | last).
 */
import type { Connect } from 'vite';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENCODER_SHAPES, makeEncoderGguf, makeEncoderSafetensors, type EncoderFixtureOptions, type EncoderPooling } from './fixtures/bert-fixture.ts';
import type { FixtureType } from './fixtures/fixture.ts';
import { sendBytes } from './fixture-server.ts';

export const MINILM_DIR = resolve(import.meta.dirname, '..', '..', 'shared', 'models', 'all-MiniLM-L6-v2-tokenizer');

let vocab: string[] | undefined;
export function minilmVocab(): string[] {
  vocab ??= readFileSync(resolve(MINILM_DIR, 'vocab.txt'), 'utf8').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1);
  return vocab;
}

export function encoderFixtureOptions(spec: string): EncoderFixtureOptions {
  const [shapeName, type, seed, pooling] = spec.split('~');
  const shape = ENCODER_SHAPES[shapeName as keyof typeof ENCODER_SHAPES];
  if (!shape || !type || !seed?.startsWith('s') || !['mean', 'cls', 'last'].includes(pooling)) throw new Error(`bad encoder fixture spec ${spec}`);
  return { shape, type: type as FixtureType, seed: Number(seed.slice(1)), pooling: pooling as EncoderPooling, vocab: minilmVocab() };
}

const cache = new Map<string, Uint8Array>();
const hfCache = new Map<string, ReturnType<typeof makeEncoderSafetensors>>();

export const encoderFixtureMiddleware: Connect.NextHandleFunction = (req, res, next) => {
  const m = /^\/([^/]+)\/([^?]+)/.exec(decodeURIComponent(req.url ?? ''));
  if (!m) return next();
  const [, spec, file] = m;
  try {
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const hf = () => {
      let v = hfCache.get(spec);
      if (!v) {
        v = makeEncoderSafetensors(encoderFixtureOptions(spec));
        hfCache.clear();
        hfCache.set(spec, v);
      }
      return v;
    };
    let body: Uint8Array;
    if (file === 'model.gguf') {
      body = cache.get(spec) ?? makeEncoderGguf(encoderFixtureOptions(spec));
      if (cache.size > 4) cache.clear();
      cache.set(spec, body);
    } else if (file === 'model.safetensors') body = hf().safetensors;
    else if (file === 'config.json') body = json(hf().configJson);
    else if (file === '1_Pooling/config.json') body = json(hf().poolingJson);
    else if (['tokenizer.json', 'tokenizer_config.json', 'modules.json'].includes(file)) body = readFileSync(resolve(MINILM_DIR, file));
    else {
      res.statusCode = 404;
      return res.end('no such encoder fixture file');
    }
    sendBytes(req, res, body, file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
  } catch (e) {
    res.statusCode = 400;
    res.end(String((e as Error).message));
  }
};
