/**
 * Constrained decoding with random "models" (seeded random logits) over real vocabularies: the constraint alone must
 * make every output parse, validate against the schema (checked by the independent validator below), and finish
 * inside the token budget.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseGgufHeader, type GgufHeader } from '../formats/gguf.ts';
import { tokenizerFromGguf, type GgufTokenizer } from '../tokenizer/gguf-tokenizer.ts';
import { mulberry32 } from '../util/random.ts';
import { Sampler } from '../runtime/sampler.ts';
import { compileSchema, anyObjectNode } from './schema.ts';
import { JsonConstraint, tokenTable } from './json-constraint.ts';
import { inStringBody, stateKey } from './json-grammar.ts';
import { vocabTrie } from './token-trie.ts';
import { UnsupportedSchemaError, InvalidRequestError } from '../errors.ts';
import { validates } from '../../test/json-schema-check.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');
const toks = new Map<string, GgufTokenizer>();
function vocab(name: string): GgufTokenizer {
  let t = toks.get(name);
  if (!t) {
    t = tokenizerFromGguf((parseGgufHeader(new Uint8Array(readFileSync(join(SHARED, `tokenizers/ggml-vocab-${name}.gguf`)))) as GgufHeader).metadata);
    toks.set(name, t);
  }
  return t;
}

type Schema = Record<string, unknown>;

const PERSON: Schema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    age: { type: 'integer' },
    score: { type: 'number' },
    nick: { type: ['string', 'null'], maxLength: 5 },
    role: { enum: ['admin', 'user', 42, null] },
    active: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string', maxLength: 4 }, maxItems: 3 },
    home: { type: 'object', properties: { city: { const: 'Paris' }, zip: { anyOf: [{ type: 'integer' }, { type: 'string', maxLength: 6 }] } }, required: ['zip'], additionalProperties: false },
  },
  required: ['name', 'age', 'role', 'home'],
  additionalProperties: false,
};

/** Generates with random logits under the constraint; returns the text and whether it finished. */
function randomRun(tok: GgufTokenizer, constraint: JsonConstraint, seed: number, maxTokens: number, temperature = 1.5) {
  const trie = vocabTrie(tok);
  const rnd = mulberry32(seed);
  const sampler = new Sampler({ temperature, topK: 0, topP: 1, seed });
  const logits = new Float32Array(tok.vocabSize);
  const out: number[] = [];
  let finished = false;
  for (let step = 0; step < maxTokens; step++) {
    if (constraint.finished) { finished = true; break; }
    for (let i = 0; i < logits.length; i++) logits[i] = (rnd() - 0.5) * 8;
    const id = sampler.sample(logits, constraint.mask(maxTokens - step));
    expect(id).toBeGreaterThanOrEqual(0);
    if (tok.eosIds.includes(id)) { finished = true; break; }
    expect(constraint.accept(id)).toBe(true);
    out.push(id);
  }
  if (!finished && constraint.finished) finished = true;
  const bytes = out.flatMap((id) => [...trie.bytes[id]!]);
  return { text: new TextDecoder().decode(Uint8Array.from(bytes)), finished, tokens: out.length };
}

describe('constrained random generation always validates and finishes within the budget', () => {
  test('a schema with every supported keyword (32k SentencePiece vocabulary)', () => {
    const tok = vocab('llama-spm');
    for (let seed = 1; seed <= 8; seed++) {
      const c = new JsonConstraint(compileSchema(PERSON), vocabTrie(tok), tok.eosIds);
      const r = randomRun(tok, c, seed, 160);
      expect(r.finished, r.text).toBe(true);
      expect(validates(JSON.parse(r.text), PERSON), r.text).toBe(true);
    }
  });
  test('a 151k byte-level BPE vocabulary (multi-byte pieces, partial UTF-8 tokens)', () => {
    const tok = vocab('qwen2');
    const schema: Schema = { type: 'object', properties: { answer: { type: 'string' }, n: { type: 'number' }, ok: { type: 'boolean' } }, required: ['answer', 'n', 'ok'] };
    for (let seed = 1; seed <= 3; seed++) {
      const c = new JsonConstraint(compileSchema(schema), vocabTrie(tok), tok.eosIds);
      const r = randomRun(tok, c, seed, 40);
      expect(r.finished, r.text).toBe(true);
      expect(validates(JSON.parse(r.text), schema), r.text).toBe(true);
    }
  });
  test('json_object mode: any object, closed within a tight budget', () => {
    const tok = vocab('llama-spm');
    for (let seed = 1; seed <= 10; seed++) {
      const c = new JsonConstraint(anyObjectNode(), vocabTrie(tok), tok.eosIds);
      const r = randomRun(tok, c, seed, 12 + seed);
      expect(r.finished, r.text).toBe(true);
      const v = JSON.parse(r.text);
      expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
    }
  });
  test("inside strings the fast path's table equals the full trie walk", () => {
    for (const name of ['llama-spm', 'qwen2']) {
      const tok = vocab(name);
      const trie = vocabTrie(tok);
      const schema = { type: 'object', properties: { s: { type: 'string', minLength: 3, maxLength: 9 }, t: { type: 'string' } }, required: ['s', 't'] };
      const c = new JsonConstraint(compileSchema(schema), trie, tok.eosIds);
      const rnd = mulberry32(5);
      const sampler = new Sampler({ temperature: 1.5, topK: 0, topP: 1, seed: 5 });
      let checked = 0;
      const outBytes: number[] = [];
      for (let step = 0; step < 30 && !c.finished; step++) {
        if (inStringBody(c.grammarState) && checked < 4) {
          const fa = tokenTable(trie, c.grammarState, true), sl = tokenTable(trie, c.grammarState, false);
          const diff = [...fa.keys()].filter((i) => fa[i] !== sl[i]).slice(0, 5).map((i) => [i, JSON.stringify(new TextDecoder().decode(trie.bytes[i] ?? new Uint8Array())), fa[i], sl[i]]);
          expect(diff, stateKey(c.grammarState) + " " + JSON.stringify(new TextDecoder().decode(Uint8Array.from(outBytes)))).toEqual([]);
          checked++;
        }
        const logits = Float32Array.from({ length: tok.vocabSize }, () => (rnd() - 0.5) * 8);
        const id = sampler.sample(logits, c.mask(30 - step));
        c.accept(id);
        outBytes.push(...(trie.bytes[id] ?? []));
      }
      expect(checked).toBeGreaterThan(1);
    }
  });
  test('the mask table is cached per grammar state', () => {
    const tok = vocab('llama-spm');
    const c = new JsonConstraint(compileSchema({ type: 'object', properties: { s: { type: 'string' } }, required: ['s'] }), vocabTrie(tok), tok.eosIds);
    randomRun(tok, c, 3, 60);
    expect(c.stats.cached).toBeGreaterThan(c.stats.computed);
  });
});

describe('schema compilation', () => {
  test('unsupported keywords → UnsupportedSchemaError naming them', () => {
    const e = (() => { try { compileSchema({ type: 'object', properties: { a: { type: 'string', pattern: '^x', format: 'email' } } }); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(UnsupportedSchemaError);
    expect((e as UnsupportedSchemaError).keywords).toEqual(['#/properties/a/pattern', '#/properties/a/format']);
    expect((e as Error).message).toMatch(/pattern/);
    expect(() => compileSchema({ type: 'number', minimum: 3 })).toThrow(UnsupportedSchemaError);
    expect(() => compileSchema({ $ref: '#/x' })).toThrow(UnsupportedSchemaError);
  });
  test('malformed schemas → InvalidRequestError saying what to change', () => {
    expect(() => compileSchema({ type: 'object', properties: {}, required: ['x'] })).toThrow(/not in "properties"/);
    expect(() => compileSchema({ type: 'strin' })).toThrow(InvalidRequestError);
    expect(() => compileSchema({ type: 'string', minLength: 3, maxLength: 2 })).toThrow(/minLength/);
  });
});
