/**
 * Token bytes two independent ways: from the GGUF vocabulary strings (exact, byte-level alphabet) and by decoding
 * through the HF tokenizer library (the path safetensors models take). They must agree wherever the HF path keeps
 * a token; it may only leave out incomplete UTF-8 pieces and specials.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseGgufHeader, type GgufHeader } from '../formats/gguf.ts';
import { makeFixtureVocab, ggufTokenizerMetadata, hfTokenizerJson, hfTokenizerConfigJson } from '../../test/fixtures/fixture-tokenizer.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf-tokenizer.ts';
import { tokenizerFromHf } from '../tokenizer/hf-tokenizer.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import { tokenBytes, buildTrie } from './token-trie.ts';
import { JsonConstraint } from './json-constraint.ts';
import { compileSchema } from './schema.ts';
import { Sampler } from '../runtime/sampler.ts';
import { mulberry32 } from '../util/random.ts';

describe('vocabulary bytes', () => {
  test('HF decode path agrees with the GGUF byte-level strings', async () => {
    const v = makeFixtureVocab(1200, 'qwen2', false);
    const gguf = tokenizerFromGguf(new Map(ggufTokenizerMetadata(v).map(([k, val]) => [k, val])) as unknown as GgufMetadata);
    const hf = await tokenizerFromHf(hfTokenizerJson(v), hfTokenizerConfigJson(v));
    const exact = tokenBytes(gguf);
    const viaHf = tokenBytes(hf);
    let kept = 0;
    for (let id = 0; id < v.tokens.length; id++) {
      if (v.tokenTypes[id] === 3) {
        expect(exact[id]).toBeNull();
        expect(viaHf[id]).toBeNull();
        continue;
      }
      expect(exact[id]).not.toBeNull();
      if (viaHf[id] === null) {
        // Only pieces that are not complete UTF-8 may be missing.
        expect(() => new TextDecoder('utf-8', { fatal: true }).decode(exact[id]!)).toThrow();
        continue;
      }
      kept++;
      expect([...viaHf[id]!]).toEqual([...exact[id]!]);
    }
    expect(kept).toBeGreaterThan(1000);
  });

  test('WordPiece (GGUF bert: word starts marked with U+2581, continuations bare): the bytes rebuild the text', () => {
    const bytes = new Uint8Array(readFileSync(resolve(import.meta.dirname, '../../../shared/tokenizers/ggml-vocab-bert-bge.gguf')));
    const tok = tokenizerFromGguf((parseGgufHeader(bytes) as GgufHeader).metadata);
    const text = 'the quick brown fox jumps over the lazy dogs, unbelievably';
    const ids = tok.encode(text, { addBos: false });
    expect(ids.length).toBeGreaterThan(text.split(' ').length); // some words are split into pieces
    const joined = new TextDecoder().decode(Uint8Array.from(ids.flatMap((id) => [...tok.tokenBytes(id)!])));
    expect(joined).toBe(' ' + tok.decode(ids)); // every word starts with its space, pieces join without one
    expect(joined).toBe(' the quick brown fox jumps over the lazy dogs , unbelievably');
    expect(tok.tokenBytes(tok.encode('', { addBos: true })[0])).toBeNull(); // [CLS]
    expect(buildTrie(tokenBytes(tok)).vocabSize).toBe(tok.vocabSize);
  });

  test('constrained generation through the HF path validates', async () => {
    const v = makeFixtureVocab(600, 'qwen2', false);
    const hf = await tokenizerFromHf(hfTokenizerJson(v), hfTokenizerConfigJson(v));
    const trie = buildTrie(tokenBytes(hf));
    const schema = { type: 'object', properties: { a: { type: 'array', items: { type: 'number' }, maxItems: 4 }, b: { type: 'string', maxLength: 6 } }, required: ['a', 'b'] };
    for (let seed = 1; seed <= 5; seed++) {
      const c = new JsonConstraint(compileSchema(schema), trie, hf.eosIds);
      const s = new Sampler({ temperature: 1, topK: 0, topP: 1, seed });
      const rnd = mulberry32(seed);
      const ids: number[] = [];
      const max = 60;
      for (let step = 0; step < max && !c.finished; step++) {
        const logits = Float32Array.from({ length: trie.vocabSize }, () => (rnd() - 0.5) * 8);
        const id = s.sample(logits, c.mask(max - step));
        if (hf.eosIds.includes(id)) break;
        expect(c.accept(id)).toBe(true);
        ids.push(id);
      }
      const v2 = JSON.parse(hf.decode(ids)) as { a: number[]; b: string };
      expect(Array.isArray(v2.a) && v2.a.length <= 4 && v2.a.every((x) => typeof x === 'number')).toBe(true);
      expect(typeof v2.b === 'string' && [...v2.b].length <= 6).toBe(true);
    }
  });
});
