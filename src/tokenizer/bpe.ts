/**
 * Byte-level BPE (GPT-2 style): a pre-token's UTF-8 bytes are mapped to printable stand-in characters, then
 * adjacent symbols are merged in merge-rank order (lowest rank first, leftmost on ties), like HF tokenizers and
 * llama.cpp's `llm_tokenizer_bpe`.
 */
import { mergeSymbols, type Candidate } from './merge-symbols.ts';

/** GPT-2's byte -> character table: printable Latin-1 bytes stand for themselves, the rest map to U+0100.. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const table = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return table;
})();

/** Inverse of BYTE_TO_CHAR, indexed by char code (-1 where a char stands for no byte). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const inv = new Int16Array(512).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (inv[c.charCodeAt(0)] = b));
  return inv;
})();

interface Pair extends Candidate {
  rank: number;
}
const lowerRankFirst = (a: Pair, b: Pair) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

const MAX_CACHE = 65536;

export class BpeEncoder {
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly encoder = new TextEncoder();

  /**
   * @param merges "left right" strings in rank order (GGUF `tokenizer.ggml.merges`).
   * @param ignoreMerges take a pre-token whole when it is itself a vocab entry (llama3 behaviour).
   */
  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    merges: readonly string[],
    private readonly ignoreMerges: boolean,
  ) {
    for (let i = 0; i < merges.length; i++) {
      // Normalise to "left right" split at the first space after position 0 (as llama.cpp reads merges);
      // the first occurrence of a pair keeps its rank.
      const m = merges[i];
      const sp = m.indexOf(' ', 1);
      if (sp < 0) continue;
      if (!this.ranks.has(m)) this.ranks.set(m, i);
    }
  }

  /** Appends the ids of one pre-token (raw text) to `out`. */
  encode(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (!ids) {
      ids = this.encodeUncached(piece);
      if (this.cache.size >= MAX_CACHE) this.cache.clear();
      this.cache.set(piece, ids);
    }
    for (const id of ids) out.push(id);
  }

  private encodeUncached(piece: string): number[] {
    const bytes = this.encoder.encode(piece);
    let word = '';
    for (const b of bytes) word += BYTE_TO_CHAR[b];
    if (this.ignoreMerges) {
      const whole = this.tokenToId.get(word);
      if (whole !== undefined) return [whole];
    }
    // One symbol per byte (each mapped char is one UTF-16 unit), held as [start, start + len) in `word`.
    const n = word.length;
    if (n === 0) return [];
    const len = new Array<number>(n).fill(1);
    const next = mergeSymbols<Pair>(len, lowerRankFirst, (left, right) => {
      const rank = this.ranks.get(word.slice(left, left + len[left]) + ' ' + word.slice(right, right + len[right]));
      return rank === undefined ? undefined : { rank, left, right, leftLen: len[left], rightLen: len[right] };
    });

    const ids: number[] = [];
    for (let i = 0; i !== -1; i = next[i]) {
      const sym = word.slice(i, i + len[i]);
      const id = this.tokenToId.get(sym);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // Not a vocab entry (a merge produced something the vocab lacks): fall back to single-byte symbols.
      for (const c of sym) {
        const cid = this.tokenToId.get(c);
        if (cid !== undefined) ids.push(cid);
      }
    }
    return ids;
  }
}
