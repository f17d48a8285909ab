/**
 * BPE pre-tokenizers: the regexes that cut text into words before merging, chosen by GGUF `tokenizer.ggml.pre`.
 * Several regexes apply in sequence, each splitting every piece left by the previous one into matches and the
 * text between them (HF `Split` with `Isolated` behaviour, llama.cpp's `unicode_regex_split`).
 */
import { UnsupportedModelError } from '../errors.ts';

// The patterns are the ones the models' tokenizer.json files define (case-insensitive groups spelled out,
// since `(?i:...)` is not available in every JS engine we target).
const CONTRACTIONS_CI = String.raw`'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]`;
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const LLAMA3 = String.raw`(?:${CONTRACTIONS_CI})|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2 = String.raw`(?:${CONTRACTIONS_CI})|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const GPT4O = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:${CONTRACTIONS_CI})?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:${CONTRACTIONS_CI})?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const TEKKEN = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const DEEPSEEK_LLM = [
  String.raw`[\r\n]`,
  String.raw`\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+`,
  String.raw`\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+`,
  String.raw`\s+$`,
  String.raw`[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+`,
  String.raw`\p{N}+`,
];

/** Regex lists by llama.cpp pre-tokenizer type; names map onto these below. */
const PATTERNS: Record<string, readonly string[]> = {
  // llama.cpp's fallback when `tokenizer.ggml.pre` is absent or "default"
  default: [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, '[0-9][0-9][0-9]'],
  gpt2: [GPT2],
  llama3: [LLAMA3],
  qwen2: [QWEN2],
  starcoder: [String.raw`\p{N}`, GPT2],
  falcon: [String.raw`[\p{P}\$\+<=>\^~\|` + '`' + String.raw`]+`, GPT2, '[0-9][0-9][0-9]'],
  deepseekLlm: DEEPSEEK_LLM,
  deepseekCoder: [String.raw`[\r\n]`, String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, '[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+', String.raw`\p{N}`],
  deepseekV3: [
    String.raw`\p{N}{1,3}`,
    '[一-龥぀-ゟ゠-ヿ]+',
    String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + '`' + String.raw`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  ],
  gpt4o: [GPT4O],
  tekken: [TEKKEN],
};

const PRE_NAMES: Record<string, keyof typeof PATTERNS> = {
  '': 'default',
  default: 'default',
  'gpt-2': 'gpt2', 'phi-2': 'gpt2', 'jina-es': 'gpt2', 'jina-de': 'gpt2', gigachat: 'gpt2', 'jina-v1-en': 'gpt2',
  'jina-v2-es': 'gpt2', 'jina-v2-de': 'gpt2', 'jina-v2-code': 'gpt2', 'roberta-bpe': 'gpt2', mpt: 'gpt2', olmo: 'gpt2', jais: 'gpt2',
  llama3: 'llama3', 'llama-v3': 'llama3', 'llama-bpe': 'llama3', falcon3: 'llama3', dbrx: 'llama3', 'smaug-bpe': 'llama3',
  'chatglm-bpe': 'llama3', glm4: 'llama3',
  qwen2: 'qwen2', 'deepseek-r1-qwen': 'qwen2', megrez: 'qwen2', stablelm2: 'qwen2',
  smollm: 'starcoder', starcoder: 'starcoder', refact: 'starcoder', 'command-r': 'starcoder', codeshell: 'starcoder',
  exaone: 'starcoder', 'minerva-7b': 'starcoder',
  falcon: 'falcon',
  'deepseek-llm': 'deepseekLlm',
  'deepseek-coder': 'deepseekCoder',
  'deepseek-v3': 'deepseekV3',
  'gpt-4o': 'gpt4o', llama4: 'gpt4o',
  tekken: 'tekken',
};

/**
 * Rust/Oniguruma `\s` is Unicode White_Space; JS `\s` adds U+FEFF and lacks U+0085. Spell the set out so
 * pre-tokenization matches the reference tokenizers on those characters too.
 */
const WS = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
function withUnicodeWhitespace(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const e = source[i + 1];
      if (e === 's') out += inClass ? WS : `[${WS}]`;
      else if (e === 'S' && !inClass) out += `[^${WS}]`;
      else out += c + e; // (no pattern here uses \S inside a class)
      i++;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    out += c;
  }
  return out;
}

export type PreTokenizer = (text: string) => string[];

/** The pre-tokenizer for a GGUF `tokenizer.ggml.pre` name; throws UnsupportedModelError for unknown names. */
export function preTokenizerFor(pre: string): PreTokenizer {
  const key = PRE_NAMES[pre];
  if (key === undefined) {
    throw new UnsupportedModelError(
      `GGUF BPE pre-tokenizer "${pre}" is not supported; known ones: ${Object.keys(PRE_NAMES).filter(Boolean).join(', ')}.`,
    );
  }
  return regexSplitter(PATTERNS[key]);
}

/** Builds a splitter from regex sources applied in sequence. */
export function regexSplitter(sources: readonly string[]): PreTokenizer {
  const regexes = sources.map((s) => new RegExp(withUnicodeWhitespace(s), 'gu'));
  return (text: string) => {
    let pieces = text === '' ? [] : [text];
    for (const re of regexes) {
      const next: string[] = [];
      for (const p of pieces) {
        let last = 0;
        for (const m of p.matchAll(re)) {
          if (m[0].length === 0) continue;
          if (m.index > last) next.push(p.slice(last, m.index));
          next.push(m[0]);
          last = m.index + m[0].length;
        }
        if (last < p.length) next.push(last === 0 ? p : p.slice(last));
      }
      pieces = next;
    }
    return pieces;
  };
}
