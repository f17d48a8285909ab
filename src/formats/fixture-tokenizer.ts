/**
 * A small byte-level BPE vocabulary for random-weight model fixtures, emitted both as GGUF `tokenizer.ggml.*`
 * metadata and as an HF `tokenizer.json`, so that the same fixture model can be loaded either way.
 *
 * Layout (ids): 256 byte tokens (id = byte value), merges learned from a built-in English text, filler
 * pseudo-words up to the requested size, then the special tokens at the end.
 */
import { InvalidRequestError } from '../errors.ts';

export type FixturePreTokenizer = 'gpt-2' | 'qwen2';

export interface FixtureVocab {
  /** Byte-level token strings (GPT-2 byte-to-unicode alphabet), index = id. */
  tokens: string[];
  /** GGUF token types: 1 normal, 3 control. */
  tokenTypes: number[];
  /** Merges in rank order, `"left right"`. */
  merges: string[];
  /** Special token text -> id. */
  specials: Map<string, number>;
  bosId: number;
  eosId: number;
  addBos: boolean;
  /** GGUF `tokenizer.ggml.pre`; the HF pre-tokenizer is the same regex. */
  pre: FixturePreTokenizer;
  chatTemplate: string;
}

/** ChatML, the template of Qwen and SmolLM instruct models. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const GPT2_SPLIT = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const QWEN2_SPLIT = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

// Training text for the merges: plain English prose and chat words, written for this fixture.
const CORPUS = `
Hello world! This is a small model that was made for tests. It has random weights, so what it says means
nothing, but the words it uses are real words. The user asks a question and the assistant gives an answer.
Once upon a time there was a little town by the sea. The people of the town went out on their boats every
morning, and they came back in the evening with fish for dinner. The children played on the beach and the
old men sat in the sun and talked about the weather, the boats, the price of bread and the news of the day.
One day a stranger came to the town. He said that he had walked for three days and that he was looking for
work. The baker gave him some bread and a cup of water, and the fisherman said he could help with the nets.
What is the capital of France? The capital of France is Paris. How many days are there in a week? There are
seven days in a week. Can you write a short story about a cat? Yes, here is a story about a cat who liked to
sleep in the sun. Numbers like 1, 2, 3, 10, 42 and 2024 appear in text too, and so do lists: apples, pears,
plums; and questions, answers, and instructions. Please explain how the system works in simple terms.
The quick brown fox jumps over the lazy dog. We think that they would have been there if they could.
It is important to read the instructions before you start, and to check your work when you are done.
`;

/** GPT-2's reversible byte -> printable character map. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return map;
})();

function toByteLevel(text: string): string {
  let s = '';
  for (const b of new TextEncoder().encode(text)) s += BYTE_TO_UNICODE[b];
  return s;
}

const MAX_MERGES = 600;
let learned: string[][] | undefined;

/**
 * BPE training on CORPUS: repeatedly merge the most frequent adjacent pair (ties broken by the pair's text,
 * so the result is deterministic). Returns the merge list in rank order; computed once.
 */
function learnMerges(): string[][] {
  if (learned) return learned;
  const counts = new Map<string, number>();
  for (const m of CORPUS.matchAll(new RegExp(GPT2_SPLIT, 'gu'))) {
    const w = toByteLevel(m[0]);
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const words = [...counts].map(([w, n]) => ({ syms: [...w], n }));
  const merges: string[][] = [];
  while (merges.length < MAX_MERGES) {
    const pairs = new Map<string, number>();
    for (const { syms, n } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const k = `${syms[i]} ${syms[i + 1]}`;
        pairs.set(k, (pairs.get(k) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestN = 0;
    for (const [k, n] of pairs) {
      if (n > bestN || (n === bestN && best !== undefined && k < best)) {
        best = k;
        bestN = n;
      }
    }
    if (best === undefined) break;
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else {
          out.push(w.syms[i]);
        }
      }
      w.syms = out;
    }
  }
  learned = merges;
  return merges;
}

const CONSONANTS = 'bcdfghjklmnprstvwz';
const VOWELS = 'aeiou';

/** The k-th filler pseudo-word: 2+ consonant-vowel syllables, every other one with a leading space. */
function fillerWord(k: number): string {
  const nSyl = CONSONANTS.length * VOWELS.length;
  let n = k >> 1;
  let w = '';
  do {
    const s = n % nSyl;
    w += CONSONANTS[Math.floor(s / VOWELS.length)] + VOWELS[s % VOWELS.length];
    n = Math.floor(n / nSyl);
  } while (n > 0 || w.length < 4);
  return (k & 1) === 0 ? `\u0120${w}` : w; // U+0120 'Ġ' is the byte-level space
}

/**
 * Build a vocabulary of exactly `vocabSize` tokens. `withBosToken` adds a separate `<|begin_of_text|>`
 * (llama-style, added by default); otherwise BOS is `<|endoftext|>` and not added (qwen-style).
 */
export function makeFixtureVocab(vocabSize: number, pre: FixturePreTokenizer, withBosToken: boolean): FixtureVocab {
  const specialTexts = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];
  if (withBosToken) specialTexts.push('<|begin_of_text|>');
  const room = vocabSize - 256 - specialTexts.length;
  if (!Number.isInteger(vocabSize) || room < 0) {
    throw new InvalidRequestError(`A fixture vocabulary needs at least ${256 + specialTexts.length} tokens (256 bytes + specials); got ${vocabSize}.`);
  }
  const tokens = BYTE_TO_UNICODE.slice();
  const seen = new Set(tokens);
  // Two merges can produce the same text ("a bc", "ab c"): keep both merges but add the token once.
  const merges: string[][] = [];
  for (const [a, b] of learnMerges()) {
    if (tokens.length >= 256 + room) break;
    merges.push([a, b]);
    if (seen.has(a + b)) continue;
    tokens.push(a + b);
    seen.add(a + b);
  }
  for (let k = 0; tokens.length < vocabSize - specialTexts.length; k++) {
    const w = fillerWord(k);
    if (seen.has(w)) continue;
    tokens.push(w);
    seen.add(w);
  }
  const tokenTypes = new Array<number>(tokens.length).fill(1);
  const specials = new Map<string, number>();
  for (const t of specialTexts) {
    specials.set(t, tokens.length);
    tokens.push(t);
    tokenTypes.push(3);
  }
  return {
    tokens,
    tokenTypes,
    merges: merges.map(([a, b]) => `${a} ${b}`),
    specials,
    bosId: specials.get(withBosToken ? '<|begin_of_text|>' : '<|endoftext|>')!,
    eosId: specials.get('<|im_end|>')!,
    addBos: withBosToken,
    pre,
    chatTemplate: CHATML_TEMPLATE,
  };
}

/** `tokenizer.*` GGUF metadata entries (with llama.cpp's value types). */
export function ggufTokenizerMetadata(v: FixtureVocab): Array<[string, string | number | boolean | string[] | Int32Array, 'string' | 'u32' | 'bool' | 'string[]' | 'i32[]']> {
  return [
    ['tokenizer.ggml.model', 'gpt2', 'string'],
    ['tokenizer.ggml.pre', v.pre, 'string'],
    ['tokenizer.ggml.tokens', v.tokens, 'string[]'],
    ['tokenizer.ggml.token_type', Int32Array.from(v.tokenTypes), 'i32[]'],
    ['tokenizer.ggml.merges', v.merges, 'string[]'],
    ['tokenizer.ggml.bos_token_id', v.bosId, 'u32'],
    ['tokenizer.ggml.eos_token_id', v.eosId, 'u32'],
    ['tokenizer.ggml.padding_token_id', v.specials.get('<|endoftext|>')!, 'u32'],
    ['tokenizer.ggml.add_bos_token', v.addBos, 'bool'],
    ['tokenizer.chat_template', v.chatTemplate, 'string'],
  ];
}

/** An HF `tokenizer.json` for the same vocabulary (loadable by `@huggingface/tokenizers`). */
export function hfTokenizerJson(v: FixtureVocab): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: useRegex });
  const preTokenizer =
    v.pre === 'gpt-2'
      ? byteLevel(true)
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: QWEN2_SPLIT }, behavior: 'Isolated', invert: false },
            byteLevel(false),
          ],
        };
  const bos = v.tokens[v.bosId];
  const postProcessor = v.addBos
    ? {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: bos, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: bos, type_id: 1 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { [bos]: { id: bos, ids: [v.bosId], tokens: [bos] } },
      }
    : byteLevel(false);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...v.specials].map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: postProcessor,
    decoder: byteLevel(false),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: v.merges,
    },
  };
}

/** The matching `tokenizer_config.json` (special tokens and chat template). */
export function hfTokenizerConfigJson(v: FixtureVocab): Record<string, unknown> {
  return {
    add_bos_token: v.addBos,
    add_eos_token: false,
    bos_token: v.tokens[v.bosId],
    eos_token: v.tokens[v.eosId],
    pad_token: '<|endoftext|>',
    unk_token: null,
    chat_template: v.chatTemplate,
    model_max_length: 131072,
    tokenizer_class: v.pre === 'qwen2' ? 'Qwen2Tokenizer' : 'GPT2Tokenizer',
  };
}
