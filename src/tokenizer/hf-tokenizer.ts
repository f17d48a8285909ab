/**
 * Tokenizer for safetensors models: HF `tokenizer.json` (+ optional `tokenizer_config.json`) run by
 * `@huggingface/tokenizers`, adapted to llmo's Tokenizer interface.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { TokenizerError } from '../errors.ts';
import type { Tokenizer } from './types.ts';

/** Added-token texts that end a turn in common chat models (llama.cpp treats them as end-of-generation too). */
const EOG_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>', '<|end_of_text|>'];

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

type Json = Record<string, unknown>;

function asObject(value: unknown, what: string): Json {
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (e) {
      throw new TokenizerError(`${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TokenizerError(`${what} must be a JSON object.`);
  return value as Json;
}

/** tokenizer_config writes special tokens either as strings or as `{ content: "..." }` objects. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

/**
 * Builds a Tokenizer from a parsed or raw `tokenizer.json` and optional `tokenizer_config.json`.
 * BOS/EOS come from the config's `bos_token` / `eos_token` and known end-of-turn added tokens; whether BOS is
 * added by default follows `add_bos_token`, else what the post-processor does. Throws TokenizerError when the
 * files are malformed.
 */
export async function tokenizerFromHf(tokenizerJson: object | string, tokenizerConfig?: object | string): Promise<Tokenizer> {
  const json = { ...asObject(tokenizerJson, 'tokenizer.json') }; // shallow copy: we may fill in added_tokens
  const config = tokenizerConfig === undefined ? {} : asObject(tokenizerConfig, 'tokenizer_config.json');
  if (!json.model || typeof json.model !== 'object') throw new TokenizerError('tokenizer.json has no "model" section.');
  if (json.added_tokens === undefined) json.added_tokens = [];
  return new HfAdapter(json, config);
}

class HfAdapter implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly eosId: number | undefined;
  readonly addBosByDefault: boolean;

  private readonly tok: HfTokenizer;
  /** Same tokenizer without special added tokens, for `parseSpecial: false` (built on first use). */
  private plainTok: HfTokenizer | undefined;
  /** Whether the post-processor itself puts BOS first (so add_special_tokens does our job). */
  private readonly postProcessorAddsBos: boolean;
  private readonly cleanUpSpaces: boolean;

  constructor(
    private readonly json: Json,
    private readonly config: Json,
  ) {
    this.tok = build(json, config);
    let maxId = -1;
    for (const id of this.tok.get_vocab(true).values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const idOf = (text: string | undefined) => (text === undefined ? undefined : this.tok.token_to_id(text));
    const withSpecials = this.tok.encode('a', { add_special_tokens: true }).ids;
    const without = this.tok.encode('a', { add_special_tokens: false }).ids;
    const leadingExtra = withSpecials.length > without.length && withSpecials[0] !== without[0] ? withSpecials[0] : undefined;
    this.postProcessorAddsBos = leadingExtra !== undefined;

    this.bosId = idOf(tokenText(config.bos_token)) ?? leadingExtra;
    this.addBosByDefault = typeof config.add_bos_token === 'boolean' ? config.add_bos_token && this.bosId !== undefined : this.postProcessorAddsBos;

    const eos = new Set<number>();
    const eosId = idOf(tokenText(config.eos_token));
    if (eosId !== undefined) eos.add(eosId);
    for (const t of json.added_tokens as AddedTokenJson[]) if (EOG_TEXTS.includes(t.content)) eos.add(t.id);
    this.eosIds = [...eos];
    // A post-processor that appends a token (Qwen3-Embedding's "$A <|endoftext|>", BERT's [SEP]) names the text's end.
    const trailingExtra = withSpecials.length > without.length && withSpecials.at(-1) !== without.at(-1) ? withSpecials.at(-1) : undefined;
    this.eosId = trailingExtra ?? eosId;
    // Python transformers' old default was to clean up; it is lossy (" ." -> "."), so only when asked for.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
  }

  encode(text: string, options: { addBos?: boolean; parseSpecial?: boolean } = {}): number[] {
    const addBos = options.addBos ?? this.addBosByDefault;
    const tok = options.parseSpecial ?? true ? this.tok : this.plain();
    // The post-processor adds the model's framing (BOS, or [CLS] ... [SEP]); otherwise BOS is prepended by hand.
    const useTemplate = addBos && this.postProcessorAddsBos;
    const ids = tok.encode(text, { add_special_tokens: useTemplate }).ids;
    if (addBos && !useTemplate) {
      if (this.bosId === undefined) throw new TokenizerError('addBos was requested but this tokenizer has no BOS token.');
      ids.unshift(this.bosId);
    }
    return ids;
  }

  /** Bytes per token, made on first use by decoding each after a fixed context token (see tokenBytes). */
  private bytesCache: (Uint8Array | null)[] | undefined;

  /**
   * What a token adds after a fixed context token (so leading-space rules do not strip it), from the library's own
   * decoder; tokens that decode to an incomplete character (U+FFFD) are left out (null), so a grammar never picks them.
   */
  tokenBytes(id: number): Uint8Array | null {
    if (!this.bytesCache) {
      const anchorIds = this.encode('a', { addBos: false, parseSpecial: false });
      const anchor = anchorIds[anchorIds.length - 1];
      const base = this.decode([anchor]);
      const enc = new TextEncoder();
      this.bytesCache = Array.from({ length: this.vocabSize }, (_, i) => {
        const s = this.decode([anchor, i]);
        const piece = s.startsWith(base) ? s.slice(base.length) : '';
        return piece.length === 0 || piece.includes('\uFFFD') ? null : enc.encode(piece);
      });
    }
    return this.bytesCache[id] ?? null;
  }

  decode(ids: readonly number[], options: { keepSpecial?: boolean } = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new TokenizerError(`Token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}); the model and tokenizer do not match.`);
      }
    }
    if (ids.length === 0) return ''; // the library rejects empty input
    return this.tok.decode([...ids], { skip_special_tokens: !options.keepSpecial, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  private plain(): HfTokenizer {
    if (!this.plainTok) {
      const added = (this.json.added_tokens as AddedTokenJson[]).filter((t) => !t.special);
      this.plainTok = build({ ...this.json, added_tokens: added }, this.config);
    }
    return this.plainTok;
  }
}

function build(json: Json, config: Json): HfTokenizer {
  try {
    return new HfTokenizer(json, config);
  } catch (e) {
    throw new TokenizerError(`tokenizer.json could not be loaded: ${(e as Error).message}`, { cause: e });
  }
}
