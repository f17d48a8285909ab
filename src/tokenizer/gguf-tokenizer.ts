/**
 * The tokenizer embedded in a GGUF file (`tokenizer.ggml.*`): SentencePiece ("llama"), byte-level BPE ("gpt2")
 * and WordPiece ("bert"), reproducing llama.cpp's `llama_tokenize` / `llama_detokenize` behaviour.
 */
import { TokenizerError } from '../errors.ts';
import type { GgufMetadata } from '../formats/gguf.ts';
import { BpeEncoder, CHAR_TO_BYTE } from './bpe.ts';
import { preTokenizerFor, type PreTokenizer } from './pretokenize.ts';
import { type Fragment, SpecialSplitter } from './special-split.ts';
import { SpmEncoder } from './spm.ts';
import type { Tokenizer } from './types.ts';
import { type GgufVocab, readGgufVocab, TokenType } from './vocab.ts';
import { WpmEncoder } from './wpm.ts';

const SPACE_MARK = '\u2581'; // SentencePiece's visible space "▁"
const utf8Encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** Builds a Tokenizer from GGUF metadata. Throws TokenizerError / UnsupportedModelError when it cannot. */
export function tokenizerFromGguf(metadata: GgufMetadata): GgufTokenizer {
  return new GgufTokenizer(readGgufVocab(metadata));
}

export class GgufTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly eosId: number | undefined;
  readonly addBosByDefault: boolean;

  private readonly splitter: SpecialSplitter;
  private readonly spm?: SpmEncoder;
  private readonly bpe?: BpeEncoder;
  private readonly preTokenize?: PreTokenizer;
  private readonly wpm?: WpmEncoder;
  /** Bytes each token decodes to (special tokens: their text), built on first use. */
  private readonly pieceCache: (Uint8Array | undefined)[];
  private readonly textDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

  constructor(readonly vocab: GgufVocab) {
    const v = vocab;
    this.vocabSize = v.tokens.length;
    this.bosId = v.bosId;
    this.eosIds = v.eogIds;
    this.eosId = v.eosId;
    this.addBosByDefault = v.addBos;
    this.pieceCache = new Array(this.vocabSize);

    const specials = [];
    for (let id = 0; id < v.tokens.length; id++) {
      const t = v.types[id];
      if (t === TokenType.Control || t === TokenType.UserDefined || t === TokenType.Unknown) {
        specials.push({
          id,
          text: v.tokens[id],
          onlyWhenParsingSpecial: t !== TokenType.UserDefined,
          lstrip: v.lstrip[id] === 1,
          rstrip: v.rstrip[id] === 1,
        });
      }
    }
    this.splitter = new SpecialSplitter(specials);

    if (v.model === 'spm') this.spm = new SpmEncoder({ tokenToId: v.tokenToId, scores: v.scores, unkId: v.unkId });
    else if (v.model === 'bpe') {
      this.bpe = new BpeEncoder(v.tokenToId, v.merges ?? [], v.ignoreMerges);
      this.preTokenize = preTokenizerFor(v.pre);
    } else this.wpm = new WpmEncoder(v.tokenToId, v.unkId);
  }

  encode(text: string, options: { addBos?: boolean; parseSpecial?: boolean } = {}): number[] {
    const addBos = options.addBos ?? this.addBosByDefault;
    const fragments: Fragment[] = this.splitter.split(text, options.parseSpecial ?? true);
    const out: number[] = [];
    if (addBos) {
      if (this.bosId === undefined) throw new TokenizerError('addBos was requested but this vocabulary has no BOS token.');
      out.push(this.bosId);
    }
    const v = this.vocab;
    if (this.spm) {
      // A space is prepended to the text at the start and after every special token (llama.cpp's SPM rule).
      let prevSpecial = true;
      for (const f of fragments) {
        if (typeof f === 'number') {
          out.push(f);
          prevSpecial = true;
          continue;
        }
        const s = v.addSpacePrefix && prevSpecial ? ' ' + f : f;
        this.spm.encode(s.replaceAll(' ', SPACE_MARK), out);
        prevSpecial = false;
      }
    } else if (this.bpe && this.preTokenize) {
      for (const f of fragments) {
        if (typeof f === 'number') out.push(f);
        else for (const word of this.preTokenize(f)) this.bpe.encode(word, out);
      }
    } else if (this.wpm) {
      for (const f of fragments) {
        if (typeof f === 'number') out.push(f);
        else this.wpm.encode(f, out);
      }
      // BERT frames a sequence as [CLS] ... [SEP]; the separator goes with the leading special token.
      if (addBos && v.sepId !== undefined) out.push(v.sepId);
    }
    return out;
  }

  decode(ids: readonly number[], options: { keepSpecial?: boolean } = {}): string {
    const keepSpecial = options.keepSpecial ?? false;
    const parts: Uint8Array[] = [];
    let total = 0;
    // SentencePiece adds a space in front when encoding (and WordPiece marks word starts with one): drop it
    // from the first piece of output again, as HF's decoders do.
    let stripLeadingSpace = (this.vocab.model === 'spm' && this.vocab.addSpacePrefix) || this.vocab.model === 'wpm';
    for (const id of ids) {
      const piece = this.piece(id, keepSpecial);
      if (piece.length === 0) continue;
      if (stripLeadingSpace && piece[0] === 0x20) {
        if (piece.length > 1) {
          parts.push(piece.subarray(1));
          total += piece.length - 1;
        }
      } else {
        parts.push(piece);
        total += piece.length;
      }
      stripLeadingSpace = false;
    }
    const buf = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      buf.set(p, at);
      at += p.length;
    }
    return this.textDecoder.decode(buf);
  }

  tokenBytes(id: number): Uint8Array | null {
    this.checkId(id);
    const t = this.vocab.types[id];
    if (t === TokenType.Control || t === TokenType.Unknown) return null;
    const p = this.piece(id, false);
    return p.length ? p : null;
  }

  /** Token text as stored in the vocabulary (`▁the`, `Ġthe`, `<0x0A>`), for debugging and grammar tools. */
  idToToken(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  /** Id of an exact vocabulary string, if present. */
  tokenToId(text: string): number | undefined {
    return this.vocab.tokenToId.get(text);
  }

  /** Whether decode drops this token by default (control/unknown/unused tokens). */
  isSpecial(id: number): boolean {
    this.checkId(id);
    const t = this.vocab.types[id];
    return t === TokenType.Control || t === TokenType.Unknown || t === TokenType.Unused || t === TokenType.Undefined;
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`Token id ${id} is outside the vocabulary (0..${this.vocabSize - 1}); the model and tokenizer do not match.`);
    }
  }

  /** The bytes a token contributes to decoded text (llama.cpp's `token_to_piece`). */
  private piece(id: number, keepSpecial: boolean): Uint8Array {
    this.checkId(id);
    const type = this.vocab.types[id];
    if (type === TokenType.Control || type === TokenType.Unknown) {
      return keepSpecial ? utf8Encoder.encode(this.vocab.tokens[id]) : EMPTY;
    }
    let p = this.pieceCache[id];
    if (!p) {
      p = this.buildPiece(id, type);
      this.pieceCache[id] = p;
    }
    return p;
  }

  private buildPiece(id: number, type: TokenType): Uint8Array {
    const text = this.vocab.tokens[id];
    if (type === TokenType.UserDefined) return utf8Encoder.encode(text);
    if (type === TokenType.Byte && this.vocab.model === 'spm') {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      return m ? Uint8Array.of(parseInt(m[1], 16)) : EMPTY;
    }
    if (type !== TokenType.Normal) return EMPTY; // unused/undefined (and BPE byte) tokens print nothing
    if (this.vocab.model !== 'bpe') return utf8Encoder.encode(text.replaceAll(SPACE_MARK, ' '));
    // BPE: each char stands for one byte; chars outside the table (malformed vocab) pass through as UTF-8.
    const out: number[] = [];
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
      if (b >= 0) out.push(b);
      else out.push(...utf8Encoder.encode(ch));
    }
    return Uint8Array.from(out);
  }
}
