import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TokenizerError } from '../errors.ts';
import { tokenizerFromHf } from './hf-tokenizer.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');
const MINILM = join(SHARED, 'models/all-MiniLM-L6-v2-tokenizer');
const json = () => readFileSync(join(MINILM, 'tokenizer.json'), 'utf8');
const config = () => JSON.parse(readFileSync(join(MINILM, 'tokenizer_config.json'), 'utf8')) as object;

describe('tokenizerFromHf with all-MiniLM-L6-v2 (BERT WordPiece)', () => {
  it('frames text as [CLS] ... [SEP] by default', async () => {
    const tok = await tokenizerFromHf(json(), config());
    expect(tok.vocabSize).toBe(30522);
    expect(tok.bosId).toBe(101);
    expect(tok.addBosByDefault).toBe(true);
    expect(tok.encode('Hello, world!')).toEqual([101, 7592, 1010, 2088, 999, 102]);
    expect(tok.encode('Hello, world!', { addBos: false })).toEqual([7592, 1010, 2088, 999]);
  });

  it('agrees with llama.cpp golden vectors for the same (bert-base-uncased) vocabulary', async () => {
    const tok = await tokenizerFromHf(JSON.parse(json()) as object);
    const base = join(SHARED, 'tokenizers/ggml-vocab-bert-bge.gguf');
    const inp = readFileSync(`${base}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
    inp.pop();
    const out = readFileSync(`${base}.out`, 'utf8').split('\n');
    let passed = 0;
    inp.forEach((text, i) => {
      const ids = out[i].trim() === '' ? [] : out[i].trim().split(/\s+/).map(Number);
      expect(tok.encode(text, { addBos: false }), JSON.stringify(text)).toEqual(ids);
      passed++;
    });
    expect(passed).toBe(46);
  });

  it('decodes, dropping special tokens unless asked', async () => {
    const tok = await tokenizerFromHf(json(), config());
    const ids = tok.encode('Tokenizers are fun!');
    expect(tok.decode(ids)).toBe('tokenizers are fun!');
    expect(tok.decode(ids, { keepSpecial: true })).toBe('[CLS] tokenizers are fun! [SEP]');
    expect(tok.decode([])).toBe('');
    expect(() => tok.decode([30522])).toThrow(TokenizerError);
  });

  it('matches special-token text only when parsing special tokens', async () => {
    const tok = await tokenizerFromHf(json(), config());
    expect(tok.encode('[SEP] hi', { addBos: false })).toEqual([102, 7632]);
    const plain = tok.encode('[SEP] hi', { addBos: false, parseSpecial: false });
    expect(plain).not.toContain(102);
    expect(plain.at(-1)).toBe(7632);
  });

  it('rejects malformed input with TokenizerError', async () => {
    await expect(tokenizerFromHf('{not json')).rejects.toThrow(TokenizerError);
    await expect(tokenizerFromHf({ version: '1.0' })).rejects.toThrow(/no "model"/);
    await expect(tokenizerFromHf([] as unknown as object)).rejects.toThrow(TokenizerError);
  });
});

describe('tokenizerFromHf with a small byte-level BPE', () => {
  // A hand-made tokenizer.json: bytes a, b, space (Ġ); merges "a b" then "Ġ ab"; chat specials as added tokens.
  const tokenizerJson = {
    version: '1.0',
    added_tokens: [
      { id: 5, content: '<s>', special: true },
      { id: 6, content: '</s>', special: true },
      { id: 7, content: '<|im_end|>', special: true },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      vocab: { a: 0, b: 1, 'Ġ': 2, ab: 3, 'Ġab': 4, '<s>': 5, '</s>': 6, '<|im_end|>': 7 },
      merges: ['a b', 'Ġ ab'],
    },
  };

  it('takes BOS/EOS from the config, adds BOS by hand when the post-processor does not, finds end-of-turn tokens', async () => {
    const tok = await tokenizerFromHf(tokenizerJson, { bos_token: '<s>', eos_token: { content: '</s>' }, add_bos_token: true });
    expect(tok.bosId).toBe(5);
    expect([...tok.eosIds].sort()).toEqual([6, 7]);
    expect(tok.addBosByDefault).toBe(true);
    expect(tok.encode('ab ab')).toEqual([5, 3, 4]);
    expect(tok.encode('ab ab', { addBos: false })).toEqual([3, 4]);
    expect(tok.encode('ab<|im_end|>', { addBos: false })).toEqual([3, 7]);
    expect(tok.decode([5, 3, 4, 7])).toBe('ab ab');
    expect(tok.decode([5, 3, 4, 7], { keepSpecial: true })).toBe('<s>ab ab<|im_end|>');
  });

  it('without a config: no BOS added, nothing invented', async () => {
    const tok = await tokenizerFromHf(tokenizerJson);
    expect(tok.addBosByDefault).toBe(false);
    expect(tok.bosId).toBeUndefined();
    expect(tok.eosIds).toEqual([7]);
    expect(tok.encode('ab')).toEqual([3]);
    expect(() => tok.encode('ab', { addBos: true })).toThrow(TokenizerError);
  });
});
