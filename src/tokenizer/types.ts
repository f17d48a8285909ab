/** What the engine needs from any tokenizer (GGUF-embedded vocabularies or HF `tokenizer.json`). */
export interface Tokenizer {
  readonly vocabSize: number;
  /** Beginning-of-sequence id, if the model uses one. */
  readonly bosId: number | undefined;
  /** Ids that end generation (EOS, EOT, `<|im_end|>` ...). */
  readonly eosIds: readonly number[];
  /**
   * The model's one end-of-text token (GGUF `tokenizer.ggml.eos_token_id`; HF: the token tokenizer.json's
   * post-processor appends to a text, else `eos_token`). Decoder embedding models pool the hidden state after it.
   */
  readonly eosId?: number;
  /** Whether `encode` should prepend BOS by default (GGUF `tokenizer.ggml.add_bos_token`, HF post-processor). */
  readonly addBosByDefault: boolean;
  /**
   * Text to ids. `addBos` defaults to `addBosByDefault`. Special-token strings in the text (e.g. `<|im_start|>`)
   * are matched as single tokens when `parseSpecial` is true (default true), as llama.cpp does for chat prompts.
   */
  encode(text: string, options?: { addBos?: boolean; parseSpecial?: boolean }): number[];
  /** Ids to text. Special/control tokens are dropped unless `keepSpecial`. */
  decode(ids: readonly number[], options?: { keepSpecial?: boolean }): string;
  /**
   * The bytes token `id` appends to the text when it follows other text (a word-start piece with its space,
   * byte tokens as their byte), or null for special/control tokens, which a grammar never offers.
   */
  tokenBytes(id: number): Uint8Array | null;
}
