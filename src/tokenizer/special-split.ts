/**
 * Splits text around special-token strings (e.g. `<|im_start|>`) so they become single tokens, as llama.cpp's
 * `tokenizer_st_partition` does: longest special strings are cut out first, then shorter ones from what remains.
 */

/** A piece of input: raw text still to tokenize, or an already-decided token id. */
export type Fragment = string | number;

export interface SpecialToken {
  id: number;
  text: string;
  /** Matched only when the caller asked to parse special tokens (control/unknown tokens); user-defined ones always are. */
  onlyWhenParsingSpecial: boolean;
  /** Eat whitespace before / after the token when it is matched. */
  lstrip: boolean;
  rstrip: boolean;
}

const isCSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

export class SpecialSplitter {
  private readonly specials: SpecialToken[];

  constructor(specials: SpecialToken[]) {
    // Longest first (ties by id, for determinism); empty strings can never be matched.
    this.specials = specials.filter((s) => s.text.length > 0).sort((a, b) => b.text.length - a.text.length || a.id - b.id);
  }

  get isEmpty(): boolean {
    return this.specials.length === 0;
  }

  split(text: string, parseSpecial: boolean): Fragment[] {
    if (text === '') return [];
    let frags: Fragment[] = [text];
    for (const sp of this.specials) {
      if (sp.onlyWhenParsingSpecial && !parseSpecial) continue;
      // Every fragment is a substring of `text`, so a token absent from it cannot match anywhere: skip cheaply.
      if (!text.includes(sp.text)) continue;
      const next: Fragment[] = [];
      for (const f of frags) {
        if (typeof f === 'number') {
          next.push(f);
          continue;
        }
        let start = 0;
        const end = f.length;
        for (;;) {
          const at = f.indexOf(sp.text, start);
          if (at < 0 || at + sp.text.length > end) break;
          let leftEnd = at;
          if (sp.lstrip) while (leftEnd > start && isCSpace(f.charCodeAt(leftEnd - 1))) leftEnd--;
          if (leftEnd > start) next.push(f.slice(start, leftEnd));
          next.push(sp.id);
          start = at + sp.text.length;
          if (sp.rstrip) while (start < end && isCSpace(f.charCodeAt(start))) start++;
        }
        if (start < end) next.push(start === 0 ? f : f.slice(start));
      }
      frags = next;
    }
    return frags;
  }
}
