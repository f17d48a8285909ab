/**
 * The vocabulary rewrites must leave the model itself untouched: same metadata apart from the vocabulary fields,
 * same tensor table, byte-identical tensor data. Checked with the project's own GGUF parser (an independent reader).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InvalidRequestError } from '../../src/errors.ts';
import { parseGgufHeader, type GgufHeader } from '../../src/formats/gguf.ts';
import { rewriteVocabForIdPrompts, showByteTokensAsText } from './gguf-vocab-rewrite.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');
const load = (rel: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(resolve(SHARED, rel)));

function header(bytes: Uint8Array): GgufHeader {
  const h = parseGgufHeader(bytes);
  if ('needBytes' in h) throw new Error(`header needs ${h.needBytes} bytes`);
  return h;
}

const CONTROL = 3;
const USER_DEFINED = 4;
const NORMAL = 1;
const BYTE = 6;
const VOCAB_KEYS = ['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type', 'tokenizer.ggml.add_bos_token', 'tokenizer.ggml.add_eos_token', 'tokenizer.ggml.eos_token_id'];

/** Everything but the vocabulary must be equal, and the tensor data byte-identical. */
function expectSameModel(inBytes: Uint8Array, a: GgufHeader, outBytes: Uint8Array, b: GgufHeader): void {
  for (const [k, v] of a.metadata) if (!VOCAB_KEYS.includes(k)) expect(b.metadata.get(k), k).toEqual(v);
  expect(b.tensors.map((t) => ({ ...t, offset: t.offset - b.dataOffset })))
    .toEqual(a.tensors.map((t) => ({ ...t, offset: t.offset - a.dataOffset })));
  expect(b.dataOffset % b.alignment).toBe(0);
  expect(outBytes.length - b.dataOffset).toBe(inBytes.length - a.dataOffset);
  expect(Buffer.from(outBytes.subarray(b.dataOffset)).equals(Buffer.from(inBytes.subarray(a.dataOffset)))).toBe(true);
}

describe('rewriteVocabForIdPrompts', () => {
  test.each(['models/stories260K/stories260K.gguf', 'models/sotu-5m/sotu-5m-q4_0.gguf'])('%s', async (rel) => {
    const inBytes = load(rel);
    const a = header(inBytes);
    const model = await rewriteVocabForIdPrompts(new Blob([inBytes]), { eosId: 5 });
    const outBytes = new Uint8Array(await model.blob.arrayBuffer());
    const b = header(outBytes);
    expectSameModel(inBytes, a, outBytes, b);

    const texts = a.metadata.get('tokenizer.ggml.tokens') as string[];
    const types = a.metadata.get('tokenizer.ggml.token_type') as Int32Array;
    const newTexts = b.metadata.get('tokenizer.ggml.tokens') as string[];
    const newTypes = b.metadata.get('tokenizer.ggml.token_type') as Int32Array;
    expect(model.nVocab).toBe(texts.length);
    expect(new Set(newTexts).size).toBe(texts.length); // every text unique
    for (let i = 0; i < texts.length; i++) {
      const isByte = /^<0x[0-9A-F]{2}>$/.test(texts[i]);
      expect(newTexts[i]).toBe(isByte ? texts[i] : `\uE000${i}\uE001`);
      expect(newTypes[i]).toBe(types[i] === CONTROL ? CONTROL : USER_DEFINED);
    }
    expect(b.metadata.get('tokenizer.ggml.add_bos_token')).toBe(false);
    expect(b.metadata.get('tokenizer.ggml.add_eos_token')).toBe(false);
    expect(b.metadata.get('tokenizer.ggml.eos_token_id')).toBe(5);

    expect(model.promptText([1, 13, 300])).toBe(`\uE0001\uE001<0x0A>\uE000300\uE001`);
    expect(() => model.promptText([texts.length])).toThrow(InvalidRequestError);
    expect(() => model.promptText([-1])).toThrow(InvalidRequestError);
  });
});

describe('showByteTokensAsText', () => {
  test('byte tokens become NORMAL, nothing else changes', async () => {
    const inBytes = load('models/llama-2-tiny-random/llama-2-tiny-random.gguf');
    const a = header(inBytes);
    const model = await showByteTokensAsText(new Blob([inBytes]));
    const outBytes = new Uint8Array(await model.blob.arrayBuffer());
    const b = header(outBytes);
    expectSameModel(inBytes, a, outBytes, b);
    expect(b.metadata.get('tokenizer.ggml.tokens')).toEqual(a.metadata.get('tokenizer.ggml.tokens'));
    const types = a.metadata.get('tokenizer.ggml.token_type') as Int32Array;
    const newTypes = b.metadata.get('tokenizer.ggml.token_type') as Int32Array;
    let nBytes = 0;
    for (let i = 0; i < types.length; i++) {
      if (types[i] === BYTE) nBytes++;
      expect(newTypes[i]).toBe(types[i] === BYTE ? NORMAL : types[i]);
    }
    expect(nBytes).toBe(256);
    expect(model.byteValue.size).toBe(256);
    expect(model.byteValue.get(13)).toBe(0x0a); // Llama-2: id 13 is <0x0A>
    for (const k of ['tokenizer.ggml.add_bos_token', 'tokenizer.ggml.add_eos_token']) {
      expect(b.metadata.get(k)).toEqual(a.metadata.get(k));
    }
  });
});
