/**
 * SentencePiece-BPE encoding as llama.cpp does it (`llm_tokenizer_spm`): start from single code points and keep
 * merging the adjacent pair whose concatenation is the vocab entry with the highest score (leftmost on ties);
 * pieces that never became a vocab entry fall back to `<0xNN>` byte tokens.
 */
import { TokenizerError } from '../errors.ts';
import { mergeSymbols, type Candidate } from './merge-symbols.ts';

export interface SpmVocab {
  tokenToId: ReadonlyMap<string, number>;
  scores: Float32Array | undefined;
  unkId: number | undefined;
}

interface Bigram extends Candidate {
  score: number;
}

const higherScoreFirst = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);

export class SpmEncoder {
  /** Token id of each byte value (`<0xNN>`), or -1 when the vocab has none. */
  private readonly byteIds = new Int32Array(256);

  constructor(private readonly vocab: SpmVocab) {
    for (let b = 0; b < 256; b++) {
      const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      this.byteIds[b] = vocab.tokenToId.get(hex) ?? (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined) ?? -1;
    }
  }

  /** Appends the ids of `text` (spaces already escaped as U+2581) to `out`. */
  encode(text: string, out: number[]): void {
    if (text === '') return;
    const { tokenToId, scores } = this.vocab;
    // Symbols are code points, held as [start, end) code-unit ranges in a doubly linked list.
    const start: number[] = [];
    const len: number[] = [];
    for (let i = 0; i < text.length; ) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
      start.push(i);
      len.push(w);
      i += w;
    }
    const next = mergeSymbols<Bigram>(len, higherScoreFirst, (left, right) => {
      const id = tokenToId.get(text.slice(start[left], start[left] + len[left] + len[right]));
      return id === undefined ? undefined : { left, right, score: scores ? scores[id] : 0, leftLen: len[left], rightLen: len[right] };
    });

    for (let i = 0; i !== -1; i = next[i]) {
      const piece = text.slice(start[i], start[i] + len[i]);
      const id = tokenToId.get(piece);
      if (id !== undefined) out.push(id);
      else this.byteFallback(piece, out);
    }
  }

  private byteFallback(piece: string, out: number[]): void {
    for (const b of new TextEncoder().encode(piece)) {
      const id = this.byteIds[b];
      if (id >= 0) out.push(id);
      else if (this.vocab.unkId !== undefined) out.push(this.vocab.unkId);
      else throw new TokenizerError(`The vocabulary has no byte token <0x${b.toString(16).toUpperCase().padStart(2, '0')}> and no unknown token to encode "${piece}".`);
    }
  }
}
