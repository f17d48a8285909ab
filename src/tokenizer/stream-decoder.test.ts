import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type GgufHeader, parseGgufHeader } from '../formats/gguf.ts';
import { tokenizerFromGguf } from './gguf-tokenizer.ts';
import { tokenizerFromHf } from './hf-tokenizer.ts';
import { StreamDecoder } from './stream-decoder.ts';
import type { Tokenizer } from './types.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');
const ggufTokenizer = (rel: string) =>
  tokenizerFromGguf((parseGgufHeader(new Uint8Array(readFileSync(join(SHARED, rel)))) as GgufHeader).metadata);

/** Streams ids one at a time; returns every push's output and the final flush. */
function stream(tok: Tokenizer, ids: readonly number[]): { pieces: string[]; text: string } {
  const d = new StreamDecoder(tok);
  const pieces = ids.map((id) => d.push(id));
  pieces.push(d.flush());
  return { pieces, text: pieces.join('') };
}

describe('StreamDecoder', () => {
  const stories = ggufTokenizer('models/stories260K/stories260K.gguf');
  const llama2 = ggufTokenizer('models/llama-2-tiny-random/llama-2-tiny-random.gguf');

  it('streaming the stories260K reference ids gives the reference text', () => {
    const ids = readFileSync(join(SHARED, 'models/stories260K/expected-greedy-200.ids.txt'), 'utf8').trim().split(/\s+/).map(Number);
    const expected = readFileSync(join(SHARED, 'models/stories260K/expected-greedy-200.txt'), 'utf8');
    const { pieces, text } = stream(stories, ids);
    expect(text).toBe(expected);
    expect(text).toBe(stories.decode(ids));
    expect(pieces[0]).toBe(''); // BOS prints nothing
    expect(pieces[1]).toBe('Once'); // no leading space at the start of the text
    expect(pieces[2]).toBe(' upon'); // ...but later pieces keep theirs
  });

  it('holds back bytes of a character split across byte tokens until it is complete', () => {
    const ids = llama2.encode('a🦙b', { addBos: false });
    const bytes = ['<0xF0>', '<0x9F>', '<0xA6>', '<0x99>'].map((t) => llama2.tokenToId(t));
    const at = ids.indexOf(bytes[0]!);
    expect(ids.slice(at, at + 4)).toEqual(bytes);
    const { pieces, text } = stream(llama2, ids);
    expect(text).toBe('a🦙b');
    expect(pieces.slice(at, at + 3)).toEqual(['', '', '']);
    expect(pieces[at + 3]).toBe('🦙');
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
  });

  it('keeps spaces right after a special token in the middle of the stream', () => {
    const ids = [1, ...llama2.encode('Hello', { addBos: false }), 2, ...llama2.encode('world', { addBos: false })];
    // "▁world" after </s>: the full decode keeps its space (only the first piece of the text loses it)
    expect(llama2.decode(ids)).toBe('Hello world');
    expect(stream(llama2, ids).text).toBe('Hello world');
  });

  it('byte-level BPE: emoji, CJK and accents stream out whole and equal the full decode', () => {
    const tok = ggufTokenizer('tokenizers/ggml-vocab-qwen2.gguf');
    const text = 'Hello, y\'all! 😶‍🌫️ 我想在apple工作1314151天～ Cửa Việt <|im_end|>';
    const ids = tok.encode(text, { addBos: false });
    const { pieces, text: out } = stream(tok, ids);
    expect(out).toBe(tok.decode(ids));
    expect(out).toBe('Hello, y\'all! 😶‍🌫️ 我想在apple工作1314151天～ Cửa Việt '); // <|im_end|> is control: dropped
    expect(pieces.some((p) => p.includes('\uFFFD'))).toBe(false);
  });

  it('flush emits an unfinished byte sequence as U+FFFD and resets', () => {
    const d = new StreamDecoder(llama2);
    expect(d.push(llama2.tokenToId('▁a')!)).toBe('a');
    expect(d.push(llama2.tokenToId('<0xF0>')!)).toBe('');
    expect(d.flush()).toBe('\uFFFD');
    expect(d.push(llama2.tokenToId('▁b')!)).toBe('b'); // a fresh stream: start-of-text rules again
  });

  it('works with an HF tokenizer (WordPiece continuation pieces join without spaces)', async () => {
    const dir = join(SHARED, 'models/all-MiniLM-L6-v2-tokenizer');
    const tok = await tokenizerFromHf(readFileSync(join(dir, 'tokenizer.json'), 'utf8'), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
    const ids = tok.encode('Tokenizers stream unbelievably well', { addBos: false });
    expect(stream(tok, ids).text).toBe(tok.decode(ids));
  });

  it('does O(1) work per token: the ids decoded per push stay bounded', () => {
    const corpus = readFileSync(join(SHARED, 'corpora/eval.txt'), 'utf8').slice(0, 20_000);
    const ids = llama2.encode(corpus);
    let decodedIds = 0;
    const counting: Tokenizer = {
      vocabSize: llama2.vocabSize, bosId: llama2.bosId, eosIds: llama2.eosIds, addBosByDefault: llama2.addBosByDefault,
      encode: (t, o) => llama2.encode(t, o),
      tokenBytes: (id) => llama2.tokenBytes(id),
      decode: (x, o) => {
        decodedIds += x.length;
        return llama2.decode(x, o);
      },
    };
    expect(stream(counting, ids).text).toBe(corpus);
    expect(decodedIds / ids.length).toBeLessThan(8);
  });
});
