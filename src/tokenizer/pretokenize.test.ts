import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../errors.ts';
import { preTokenizerFor } from './pretokenize.ts';
import { SpecialSplitter } from './special-split.ts';

const SAMPLE = "Hello, y'all! It's 2024: 12345 cats\u00a0and\r\n  3 dogs 😀 我想在apple工作 Ünïcödé\t\tend  ";

describe('BPE pre-tokenizers', () => {
  const names = [
    'default', 'gpt-2', 'llama-bpe', 'llama3', 'qwen2', 'smollm', 'starcoder', 'falcon', 'deepseek-llm',
    'deepseek-coder', 'deepseek-v3', 'gpt-4o', 'tekken', 'command-r', 'dbrx', 'stablelm2', 'olmo',
  ];

  it.each(names)('%s compiles and splits text into pieces that concatenate back to it', (name) => {
    const pieces = preTokenizerFor(name)(SAMPLE);
    expect(pieces.join('')).toBe(SAMPLE);
    expect(pieces.every((p) => p.length > 0)).toBe(true);
    expect(pieces.length).toBeGreaterThan(10);
  });

  it('GPT-2: contractions, leading-space words, trailing whitespace runs', () => {
    expect(preTokenizerFor('gpt-2')("Hello world's  123 ok  ")).toEqual(['Hello', ' world', "'s", ' ', ' 123', ' ok', '  ']);
  });

  it('digit grouping differs by model: llama3 by three, qwen2 and smollm one by one', () => {
    expect(preTokenizerFor('llama-bpe')('x 12345')).toEqual(['x', ' ', '123', '45']);
    expect(preTokenizerFor('qwen2')('12345')).toEqual(['1', '2', '3', '4', '5']);
    expect(preTokenizerFor('smollm')('a12b')).toEqual(['a', '1', '2', 'b']);
  });

  it('llama3: case-insensitive contractions, newlines grouped', () => {
    expect(preTokenizerFor('llama3')("IT'S\n\nok")).toEqual(['IT', "'S", '\n\n', 'ok']);
  });

  it('whitespace is Unicode White_Space (U+0085 yes, U+FEFF no), as in the Rust tokenizers', () => {
    expect(preTokenizerFor('gpt-2')('a\u0085b')).toEqual(['a', '\u0085', 'b']);
    expect(preTokenizerFor('gpt-2')('a \ufeffb')).toEqual(['a', ' \ufeff', 'b']);
  });

  it('unknown names are refused by name', () => {
    expect(() => preTokenizerFor('nope')).toThrow(UnsupportedModelError);
    expect(() => preTokenizerFor('nope')).toThrow(/"nope"/);
  });
});

describe('SpecialSplitter', () => {
  const sp = (id: number, text: string, opts: Partial<{ onlyWhenParsingSpecial: boolean; lstrip: boolean; rstrip: boolean }> = {}) => ({
    id, text, onlyWhenParsingSpecial: true, lstrip: false, rstrip: false, ...opts,
  });

  it('cuts out longer special strings before shorter ones', () => {
    const s = new SpecialSplitter([sp(1, '<a>'), sp(2, '<a><b>'), sp(3, '<b>')]);
    expect(s.split('x<a><b>y<b><a>', true)).toEqual(['x', 2, 'y', 3, 1]);
  });

  it('user-defined tokens match even when special parsing is off; control ones do not', () => {
    const s = new SpecialSplitter([sp(1, '<ctl>'), sp(2, '<usr>', { onlyWhenParsingSpecial: false })]);
    expect(s.split('a<ctl>b<usr>c', false)).toEqual(['a<ctl>b', 2, 'c']);
    expect(s.split('a<ctl>b<usr>c', true)).toEqual(['a', 1, 'b', 2, 'c']);
  });

  it('lstrip/rstrip eat neighbouring whitespace', () => {
    const s = new SpecialSplitter([sp(1, '<L>', { lstrip: true }), sp(2, '<R>', { rstrip: true })]);
    expect(s.split('a \t<L> b<R>\n c', true)).toEqual(['a', 1, ' b', 2, 'c']);
    expect(s.split('   <L>', true)).toEqual([1]);
  });

  it('empty text gives no fragments', () => {
    expect(new SpecialSplitter([sp(1, '<x>')]).split('', true)).toEqual([]);
  });
});
