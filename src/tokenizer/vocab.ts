/**
 * The vocabulary as stored in GGUF metadata (`tokenizer.ggml.*`): token strings, scores, types, special ids and
 * the flags that steer encoding. Defaults follow llama.cpp's loader so a file behaves the same in both.
 */
import { TokenizerError, UnsupportedModelError } from '../errors.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import { ggufBool, ggufNumber, ggufNumberArray, ggufString, ggufStringArray } from '../formats/gguf-metadata.ts';

/** `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`). */
export enum TokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export type VocabModel = 'spm' | 'bpe' | 'wpm';

export interface GgufVocab {
  model: VocabModel;
  /** `tokenizer.ggml.pre` (BPE pre-tokenizer name), '' when absent. */
  pre: string;
  tokens: string[];
  /** Text to id; on duplicate strings the later id wins, as in llama.cpp. */
  tokenToId: Map<string, number>;
  scores: Float32Array | undefined;
  types: Uint8Array;
  /** Extra per-token flags: whitespace to strip around a special token when it is matched in text. */
  lstrip: Uint8Array;
  rstrip: Uint8Array;
  merges: string[] | undefined;
  bosId: number | undefined;
  eosId: number | undefined;
  unkId: number | undefined;
  sepId: number | undefined;
  /** EOS, EOT, EOM and tokens whose text marks an end of turn (llama.cpp's EOG set), EOS first. */
  eogIds: number[];
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
  /** llama3-style BPE: a pre-token that is itself a vocab entry is taken whole, skipping merges. */
  ignoreMerges: boolean;
}

/** Texts llama.cpp treats as end-of-generation tokens whatever their metadata says. */
const EOG_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>'];
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<EOT>', '<｜end▁of▁sentence｜>'];

/** BPE pre-tokenizers that llama.cpp treats as llama3-like: BOS on by default, whole-word vocab hits skip merges. */
const LLAMA3_LIKE = new Set(['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'tekken']);

export function readGgufVocab(meta: GgufMetadata): GgufVocab {
  const modelName = ggufString(meta, 'tokenizer.ggml.model', undefined);
  if (modelName === undefined || modelName === 'none' || modelName === 'no_vocab') {
    throw new TokenizerError('The GGUF file has no tokenizer (tokenizer.ggml.model is missing); supply a tokenizer.json instead.');
  }
  let model: VocabModel;
  if (modelName === 'llama') model = 'spm';
  else if (modelName === 'gpt2') model = 'bpe';
  else if (modelName === 'bert') model = 'wpm';
  else {
    throw new UnsupportedModelError(
      `GGUF tokenizer model "${modelName}" is not supported (llmo supports "llama" SentencePiece, "gpt2" byte-level BPE and "bert" WordPiece).`,
    );
  }
  const pre = ggufString(meta, 'tokenizer.ggml.pre', '');

  const storedTokens = ggufStringArray(meta, 'tokenizer.ggml.tokens', undefined);
  if (!storedTokens || storedTokens.length === 0) throw new TokenizerError('GGUF tokenizer.ggml.tokens is missing or empty.');
  // llama.cpp renames empty tokens so they can never match text; copy only then, to leave the metadata intact
  const tokens = storedTokens.includes('') ? storedTokens.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t)) : storedTokens;
  const n = tokens.length;

  const scoresRaw = ggufNumberArray(meta, 'tokenizer.ggml.scores', undefined);
  if (scoresRaw && scoresRaw.length !== n) {
    throw new TokenizerError(`GGUF tokenizer.ggml.scores has ${scoresRaw.length} entries for ${n} tokens.`);
  }
  const scores = scoresRaw ? Float32Array.from(scoresRaw) : undefined;

  const typesRaw = ggufNumberArray(meta, 'tokenizer.ggml.token_type', undefined);
  if (typesRaw && typesRaw.length !== n) {
    throw new TokenizerError(`GGUF tokenizer.ggml.token_type has ${typesRaw.length} entries for ${n} tokens.`);
  }
  const types = new Uint8Array(n).fill(TokenType.Normal);
  if (typesRaw) {
    for (let i = 0; i < n; i++) {
      const t = typesRaw[i];
      types[i] = t >= 1 && t <= 6 ? t : TokenType.Undefined;
    }
  }

  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) tokenToId.set(tokens[i], i);

  let merges: string[] | undefined;
  if (model === 'bpe') {
    merges = ggufStringArray(meta, 'tokenizer.ggml.merges', undefined);
    if (!merges) throw new TokenizerError('GGUF BPE tokenizer has no tokenizer.ggml.merges.');
  }

  // Per-type defaults, then metadata overrides.
  let bos: number | undefined;
  let eos: number | undefined;
  let unk: number | undefined;
  let sep: number | undefined;
  let addBos = false;
  let addSpacePrefix = false;
  let ignoreMerges = false;
  if (model === 'spm') {
    bos = 1; eos = 2; unk = 0;
    addBos = true;
    addSpacePrefix = true;
  } else if (model === 'wpm') {
    bos = 101; unk = 100; sep = 102;
    addBos = true;
  } else {
    // llama.cpp defaults BPE bos/eos to 11 (a GPT-NeoX relic); without metadata we prefer "none".
    if (LLAMA3_LIKE.has(pre) || pre === 'chameleon') addBos = true;
    if (LLAMA3_LIKE.has(pre)) ignoreMerges = true;
  }
  const id = (key: string, def: number | undefined): number | undefined => {
    const v = ggufNumber(meta, key, undefined);
    return v !== undefined && Number.isInteger(v) && v >= 0 && v < n ? v : def;
  };
  bos = id('tokenizer.ggml.bos_token_id', bos);
  eos = id('tokenizer.ggml.eos_token_id', eos);
  unk = id('tokenizer.ggml.unknown_token_id', unk);
  sep = id('tokenizer.ggml.seperator_token_id', sep); // sic: the GGUF key is misspelled
  let eot = id('tokenizer.ggml.eot_token_id', undefined);
  let eom = id('tokenizer.ggml.eom_token_id', undefined);
  addBos = ggufBool(meta, 'tokenizer.ggml.add_bos_token', addBos);
  const addEos = ggufBool(meta, 'tokenizer.ggml.add_eos_token', false);
  addSpacePrefix = ggufBool(meta, 'tokenizer.ggml.add_space_prefix', addSpacePrefix);
  if (bos === undefined) addBos = false;

  // Like llama.cpp: find EOT/EOM by text when the metadata lacks them, and force end-of-turn markers to be
  // control tokens (some converters mark them normal, which would make them appear in decoded text).
  const makeControl = (i: number) => {
    types[i] = TokenType.Control;
  };
  if (eot === undefined) {
    for (const t of EOT_TEXTS) {
      const i = tokenToId.get(t);
      if (i !== undefined) { eot = i; makeControl(i); break; }
    }
  }
  if (eom === undefined) {
    const i = tokenToId.get('<|eom_id|>');
    if (i !== undefined) { eom = i; makeControl(i); }
  }
  const eog = new Set<number>();
  if (eos !== undefined) eog.add(eos);
  if (eot !== undefined) eog.add(eot);
  if (eom !== undefined) eog.add(eom);
  for (const t of EOG_TEXTS) {
    const i = tokenToId.get(t);
    if (i !== undefined) { eog.add(i); makeControl(i); }
  }

  // Per-model special-token whitespace handling that GGUF does not record (mirrors llama.cpp).
  const lstrip = new Uint8Array(n);
  const rstrip = new Uint8Array(n);
  const name = ggufString(meta, 'general.name', '').toLowerCase();
  if (['jina-v2-de', 'jina-v2-es', 'jina-v2-code'].some((p) => pre.includes(p))) {
    const i = tokenToId.get('<mask>');
    if (i !== undefined) lstrip[i] = 1;
  } else if (name.includes('phi-3') || name.includes('phi3')) {
    for (let i = 0; i < n; i++) {
      if (types[i] === TokenType.Control || types[i] === TokenType.UserDefined || types[i] === TokenType.Unknown) rstrip[i] = 1;
    }
    const set = (t: string, v: number) => {
      const i = tokenToId.get(t);
      if (i !== undefined) rstrip[i] = v;
    };
    set('</s>', 1);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) set(t, 0);
  }

  return {
    model, pre, tokens, tokenToId, scores, types, lstrip, rstrip, merges,
    bosId: bos, eosId: eos, unkId: unk, sepId: sep, eogIds: [...eog],
    addBos, addEos, addSpacePrefix, ignoreMerges,
  };
}
