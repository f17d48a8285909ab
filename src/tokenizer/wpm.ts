/**
 * WordPiece (BERT) encoding from a GGUF "bert" vocabulary. The GGUF converter stores word-initial pieces with a
 * leading "▁" and continuation pieces bare (instead of BERT's "##" prefix). Normalisation follows HF's
 * BertNormalizer (clean control chars, pad CJK, strip accents, lowercase) and BertPreTokenizer (split on
 * whitespace and punctuation); each word is then matched greedily, longest piece first.
 */

const SPACE_MARK = '\u2581';
const WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
const CONTROL = /\p{C}/u;
const PUNCT = /[\p{P}$+<=>^`|~]/u;
const MARK_NONSPACING = /\p{Mn}/gu;

function isChineseChar(c: number): boolean {
  return (
    (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b920 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f)
  );
}

export class WpmEncoder {
  private readonly maxTokenLength: number;

  constructor(
    private readonly tokenToId: ReadonlyMap<string, number>,
    private readonly unkId: number | undefined,
  ) {
    let max = 0;
    for (const t of tokenToId.keys()) max = Math.max(max, t.length);
    this.maxTokenLength = max;
  }

  /** Normalised words of `text`: lowercased, accents removed, punctuation and CJK chars as one-char words. */
  words(text: string): string[] {
    let cleaned = '';
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      if (WHITESPACE.test(ch)) cleaned += ' ';
      else if (c === 0 || c === 0xfffd || CONTROL.test(ch)) continue;
      else if (isChineseChar(c)) cleaned += ` ${ch} `;
      else cleaned += ch;
    }
    const normalized = cleaned.normalize('NFD').replace(MARK_NONSPACING, '').toLowerCase();
    const words: string[] = [];
    let cur = '';
    for (const ch of normalized) {
      if (ch === ' ') {
        if (cur) words.push(cur);
        cur = '';
      } else if (PUNCT.test(ch)) {
        if (cur) words.push(cur);
        words.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) words.push(cur);
    return words;
  }

  encode(text: string, out: number[]): void {
    for (const w of this.words(text)) this.encodeWord(SPACE_MARK + w, out);
  }

  /** Greedy longest-match; a word with any unmatched remainder becomes a single unknown token. */
  private encodeWord(word: string, out: number[]): void {
    const startLen = out.length;
    for (let i = 0; i < word.length; ) {
      let found = -1;
      let end = Math.min(word.length, i + this.maxTokenLength);
      for (; end > i; end--) {
        const id = this.tokenToId.get(word.slice(i, end));
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      if (found < 0) {
        out.length = startLen;
        break;
      }
      out.push(found);
      i = end;
    }
    if (out.length === startLen && this.unkId !== undefined) out.push(this.unkId);
  }
}
