/**
 * Incremental detokenization for any Tokenizer. Decoding token by token would break multi-byte characters that
 * span byte tokens and lose context-dependent spacing (SentencePiece strips the first piece's leading space), so
 * each step decodes a short window — a few already-emitted tokens for context plus the new ones — and emits the
 * text beyond what the context alone decodes to, once it no longer ends in an incomplete UTF-8 sequence (U+FFFD).
 * Windows stay a few tokens long, so each push costs O(1) amortised.
 */
import type { Tokenizer } from './types.ts';

const REPLACEMENT = '\uFFFD';
/** Past this many pending tokens, emit even if the text ends in U+FFFD: it is a real replacement char, not a partial one. */
const MAX_PENDING = 8;

export class StreamDecoder {
  private ids: number[] = [];
  /** Start of the context window within `ids`. */
  private prefix = 0;
  /** End of the emitted part: tokens from here on have not produced output yet. */
  private read = 0;
  /** decode(ids[prefix..read)), cached. */
  private prefixText = '';

  constructor(private readonly tok: Tokenizer) {}

  /** Adds one token; returns the newly completed text ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    return this.emit(false);
  }

  /** Returns whatever is still pending (e.g. an unfinished byte sequence, as U+FFFD) and resets the stream. */
  flush(): string {
    const out = this.emit(true);
    this.ids = [];
    this.prefix = this.read = 0;
    this.prefixText = '';
    return out;
  }

  private emit(force: boolean): string {
    if (this.read === this.ids.length) return '';
    const text = this.tok.decode(this.ids.slice(this.prefix));
    const pending = this.ids.length - this.read;
    if (!force && text.endsWith(REPLACEMENT) && pending < MAX_PENDING) return '';
    // The window decode must extend the context decode; if a tokenizer rewrites earlier text (it should not),
    // emit the common continuation rather than repeating or losing text.
    let cut = this.prefixText.length;
    if (!text.startsWith(this.prefixText)) {
      cut = 0;
      while (cut < text.length && cut < this.prefixText.length && text[cut] === this.prefixText[cut]) cut++;
    }
    const out = text.slice(cut);
    this.advance();
    return out;
  }

  /**
   * Makes the last emitted tokens the new context. The context must begin with a token that prints something:
   * a window starting with a dropped special token (e.g. BOS) would let the tokenizer strip the next token's
   * leading space as if it were the start of the text.
   */
  private advance(): void {
    let start = this.read;
    while (start < this.ids.length && this.tok.decode([this.ids[start]]) === '') start++;
    if (start < this.ids.length) this.prefix = start;
    this.read = this.ids.length;
    this.prefixText = this.tok.decode(this.ids.slice(this.prefix, this.read));
    // Drop tokens before the window so memory stays bounded over long generations.
    if (this.prefix > 1024) {
      this.ids = this.ids.slice(this.prefix);
      this.read -= this.prefix;
      this.prefix = 0;
    }
  }
}
