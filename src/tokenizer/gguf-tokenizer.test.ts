import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TokenizerError, UnsupportedModelError } from '../errors.ts';
import { type GgufHeader, type GgufValue, parseGgufHeader } from '../formats/gguf.ts';
import { type GgufTokenizer, tokenizerFromGguf } from './gguf-tokenizer.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');

const metaCache = new Map<string, Map<string, GgufValue>>();
function metadataOf(rel: string): Map<string, GgufValue> {
  let m = metaCache.get(rel);
  if (!m) {
    m = (parseGgufHeader(new Uint8Array(readFileSync(join(SHARED, rel)))) as GgufHeader).metadata;
    metaCache.set(rel, m);
  }
  return m;
}
const tokCache = new Map<string, GgufTokenizer>();
function tokenizerOf(rel: string): GgufTokenizer {
  let t = tokCache.get(rel);
  if (!t) {
    t = tokenizerFromGguf(metadataOf(rel));
    tokCache.set(rel, t);
  }
  return t;
}
const vocabFile = (name: string) => `tokenizers/ggml-vocab-${name}.gguf`;

/** llama.cpp's golden vectors: `.inp` strings between `__ggml_vocab_test__` lines, `.out` one id list per line. */
function goldenCases(name: string): { text: string; ids: number[] }[] {
  const inp = readFileSync(join(SHARED, `${vocabFile(name)}.inp`), 'utf8').split('\n__ggml_vocab_test__\n');
  expect(inp.pop()).toBe(''); // the file ends with a separator
  const out = readFileSync(join(SHARED, `${vocabFile(name)}.out`), 'utf8').split('\n');
  return inp.map((text, i) => ({ text, ids: out[i].trim() === '' ? [] : out[i].trim().split(/\s+/).map(Number) }));
}

describe('golden tokenization vectors (llama.cpp test-tokenizer-0)', () => {
  const lossless = ['llama-spm', 'llama-bpe', 'qwen2', 'gpt-2', 'phi-3'];

  it.each([...lossless, 'bert-bge'])('%s: every case encodes to the expected ids', (name) => {
    const tok = tokenizerOf(vocabFile(name));
    const cases = goldenCases(name);
    expect(cases).toHaveLength(46);
    let passed = 0;
    for (const c of cases) {
      // llama.cpp's test tokenizes without BOS and without parsing special tokens; no case contains one, so
      // parsing them must not change anything either.
      expect(tok.encode(c.text, { addBos: false, parseSpecial: false }), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.encode(c.text, { addBos: false })).toEqual(c.ids);
      passed++;
    }
    expect(passed).toBe(46);
  });

  it.each(lossless)('%s: decoding the expected ids gives back the text', (name) => {
    const tok = tokenizerOf(vocabFile(name));
    for (const c of goldenCases(name)) expect(tok.decode(c.ids), JSON.stringify(c.text)).toBe(c.text);
  });

  it('bert-bge (WordPiece, lowercasing): decoding gives the normalised words', () => {
    const tok = tokenizerOf(vocabFile('bert-bge'));
    expect(tok.decode(tok.encode('Hello World', { addBos: false }))).toBe('hello world');
    expect(tok.decode(tok.encode('Cửa Việt', { addBos: false }))).toBe('cua viet');
    expect(tok.encode('Hello')).toEqual([101, 7592, 102]); // [CLS] hello [SEP]
  });
});

describe('special tokens and defaults', () => {
  it('BOS/EOS and add-BOS defaults follow the metadata and llama.cpp defaults', () => {
    const expectations: [string, number | undefined, number[], boolean][] = [
      ['llama-spm', 1, [2], true],
      ['phi-3', 1, [32000, 32007], true], // <|endoftext|> (eos) and <|end|> (end of turn)
      ['llama-bpe', 128000, [128001, 128009], true], // <|end_of_text|>, <|eot_id|>; llama3 pre-tokenizer adds BOS
      ['qwen2', 151643, [151643, 151645], false], // <|endoftext|>, <|im_end|>
      ['gpt-2', 50256, [50256], false],
    ];
    for (const [name, bos, eos, addBos] of expectations) {
      const tok = tokenizerOf(vocabFile(name));
      expect(tok.bosId, name).toBe(bos);
      expect([...tok.eosIds].sort(), name).toEqual([...eos].sort());
      expect(tok.addBosByDefault, name).toBe(addBos);
    }
  });

  it('prepends BOS by default where the vocab says so', () => {
    const spm = tokenizerOf(vocabFile('llama-spm'));
    expect(spm.encode('Hello world')).toEqual([1, 15043, 3186]);
    expect(spm.encode('Hello world', { addBos: false })).toEqual([15043, 3186]);
    expect(spm.encode('')).toEqual([1]);
    const qwen = tokenizerOf(vocabFile('qwen2'));
    expect(qwen.encode('Hello')[0]).not.toBe(151643);
  });

  it('matches control tokens in text only when parsing special tokens', () => {
    const tok = tokenizerOf(vocabFile('llama-bpe'));
    const text = '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>';
    const ids = tok.encode(text, { addBos: false });
    expect(ids[0]).toBe(tok.tokenToId('<|start_header_id|>'));
    expect(ids.at(-1)).toBe(128009);
    expect(ids).toContain(tok.tokenToId('<|end_header_id|>'));
    const plain = tok.encode(text, { addBos: false, parseSpecial: false });
    expect(plain).not.toContain(128009);
    expect(tok.decode(plain)).toBe(text); // as ordinary text it survives decoding
    // decode drops control tokens unless asked to keep them
    expect(tok.decode(ids)).toBe('user\n\nHi');
    expect(tok.decode(ids, { keepSpecial: true })).toBe(text);
  });

  it('qwen2 chat markup becomes single tokens', () => {
    const tok = tokenizerOf(vocabFile('qwen2'));
    const ids = tok.encode('<|im_start|>user\nhello<|im_end|>\n');
    expect(ids[0]).toBe(151644);
    expect(ids).toContain(151645);
    expect(tok.decode(ids)).toBe('user\nhello\n');
  });

  it('SentencePiece adds the space prefix again after a special token', () => {
    const tok = tokenizerOf(vocabFile('llama-spm'));
    // "<s>" parsed as BOS, then " Hello" (prefix space added) -> ▁Hello
    expect(tok.encode('<s>Hello', { addBos: false })).toEqual([1, 15043]);
    // not parsed: "<s>" is plain text
    const plain = tok.encode('<s>Hello', { addBos: false, parseSpecial: false });
    expect(plain).not.toContain(1);
    expect(tok.decode(plain)).toBe('<s>Hello');
  });

  it('phi-3: user-defined </s> is always matched; special tokens eat following whitespace (llama.cpp rule)', () => {
    const tok = tokenizerOf(vocabFile('phi-3'));
    expect(tok.encode('a</s>b', { addBos: false, parseSpecial: false })).toContain(2);
    const ids = tok.encode('<|user|>\nHi<|end|>', { addBos: false });
    expect(ids[0]).toBe(tok.tokenToId('<|user|>'));
    expect(ids.at(-1)).toBe(32007);
    // the newline after <|user|> was stripped, and the space prefix was added before "Hi"
    expect(ids.slice(1, -1)).toEqual(tok.encode('Hi', { addBos: false }));
  });

  it('decode drops BOS and strips the SentencePiece prefix space once', () => {
    const tok = tokenizerOf(vocabFile('llama-spm'));
    expect(tok.decode([1, 15043, 3186])).toBe('Hello world');
    expect(tok.decode([1, 15043, 3186], { keepSpecial: true })).toBe('<s> Hello world');
    expect(tok.decode([15043, 2, 3186])).toBe('Hello world'); // only the very first piece loses its space
  });

  it('byte fallback round-trips characters outside the vocabulary', () => {
    const tok = tokenizerOf('models/llama-2-tiny-random/llama-2-tiny-random.gguf');
    const text = 'naïve café 🦙 ꙮ\n\ttab';
    const ids = tok.encode(text, { addBos: false });
    expect(ids).toContain(tok.tokenToId('<0xF0>')); // the llama emoji is spelled in bytes
    expect(tok.decode(ids)).toBe(text);
  });

  it('keeps a leading byte-order mark (TextDecoder would swallow it by default)', () => {
    for (const name of ['llama-bpe', 'llama-spm']) {
      const tok = tokenizerOf(vocabFile(name));
      expect(tok.decode(tok.encode('\uFEFFabc', { addBos: false })), name).toBe('\uFEFFabc');
    }
  });

  it('rejects ids outside the vocabulary', () => {
    const tok = tokenizerOf(vocabFile('gpt-2'));
    expect(() => tok.decode([50257])).toThrow(TokenizerError);
    expect(() => tok.decode([-1])).toThrow(/outside the vocabulary/);
  });
});

describe('model vocabularies', () => {
  it('stories260K: decoding the reference ids gives the reference text, and encoding gives the ids back', () => {
    const tok = tokenizerOf('models/stories260K/stories260K.gguf');
    expect(tok.vocabSize).toBe(512);
    const ids = readFileSync(join(SHARED, 'models/stories260K/expected-greedy-200.ids.txt'), 'utf8').trim().split(/\s+/).map(Number);
    const text = readFileSync(join(SHARED, 'models/stories260K/expected-greedy-200.txt'), 'utf8');
    expect(ids[0]).toBe(1);
    expect(ids).toHaveLength(201);
    // BOS is dropped and the first piece's prefix space removed: the text starts "Once upon a time"
    expect(tok.decode(ids)).toBe(text);
    expect(tok.decode(ids.slice(1))).toBe(text);
    // the model's greedy choices happen to be the canonical tokenization of its own text
    expect(tok.encode(text)).toEqual(ids);
  });

  it('sotu-5m: the eval corpus round-trips and needs no unknown tokens', () => {
    const tok = tokenizerOf('models/sotu-5m/sotu-5m-q8_0.gguf');
    expect(tok.vocabSize).toBe(4096);
    const text = readFileSync(join(SHARED, 'corpora/eval.txt'), 'utf8');
    const ids = tok.encode(text);
    expect(ids[0]).toBe(1);
    expect(ids).not.toContain(0);
    expect(ids.length).toBeLessThan(text.length / 2); // real merges happen: well under one token per 2 chars
    expect(tok.decode(ids)).toBe(text);
  });

  it('llama-2-tiny-random carries the real Llama 2 vocab: same tokens as the llama-spm vocab file', () => {
    const tiny = tokenizerOf('models/llama-2-tiny-random/llama-2-tiny-random.gguf');
    const ref = tokenizerOf(vocabFile('llama-spm'));
    const text = 'The quick brown fox jumps over the lazy dog. 1234 Ünïcödé!';
    const ids = tiny.encode(text);
    expect(ids).toEqual(ref.encode(text));
    expect(ids.slice(0, 4).map((i) => tiny.idToToken(i))).toEqual(['<s>', '▁The', '▁quick', '▁brown']);
  });
});

describe('speed', () => {
  const corpus = readFileSync(join(SHARED, 'corpora/eval.txt'), 'utf8');
  // Generous bounds (CI has 2 slow cores): they catch quadratic behaviour, which takes seconds.
  it.each(['llama-spm', 'llama-bpe', 'qwen2'])('%s encodes 10 KB of prose and 10 KB without spaces quickly', (name) => {
    const tok = tokenizerOf(vocabFile(name));
    tok.encode('warm up the regexes and JIT');
    const prose = corpus.slice(0, 10_000);
    const noSpaces = 'abcdefghij'.repeat(1000);
    for (const text of [prose, noSpaces]) {
      const t0 = performance.now();
      const ids = tok.encode(text);
      const ms = performance.now() - t0;
      expect(ms, `${name}: ${ms.toFixed(0)} ms`).toBeLessThan(1000);
      expect(tok.decode(ids)).toBe(text);
    }
  });
});

describe('malformed metadata', () => {
  const base = (): Map<string, GgufValue> =>
    new Map<string, GgufValue>([
      ['tokenizer.ggml.model', 'gpt2'],
      ['tokenizer.ggml.pre', 'gpt-2'],
      ['tokenizer.ggml.tokens', ['a', 'b', 'ab']],
      ['tokenizer.ggml.merges', ['a b']],
    ]);

  it('a tiny synthetic BPE vocab merges by rank', () => {
    const tok = tokenizerFromGguf(base());
    expect(tok.encode('abba')).toEqual([2, 1, 0]);
    expect(tok.decode([2, 1, 0])).toBe('abba');
  });

  it('throws typed errors naming the problem', () => {
    const noModel = base();
    noModel.delete('tokenizer.ggml.model');
    expect(() => tokenizerFromGguf(noModel)).toThrow(TokenizerError);
    const t5 = base();
    t5.set('tokenizer.ggml.model', 't5');
    expect(() => tokenizerFromGguf(t5)).toThrow(UnsupportedModelError);
    const pre = base();
    pre.set('tokenizer.ggml.pre', 'made-up');
    expect(() => tokenizerFromGguf(pre)).toThrow(/pre-tokenizer "made-up"/);
    const noMerges = base();
    noMerges.delete('tokenizer.ggml.merges');
    expect(() => tokenizerFromGguf(noMerges)).toThrow(/merges/);
    const badScores = base();
    badScores.set('tokenizer.ggml.scores', new Float32Array(2));
    expect(() => tokenizerFromGguf(badScores)).toThrow(/2 entries for 3 tokens/);
  });
});
