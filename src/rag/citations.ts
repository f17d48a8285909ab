/**
 * Keeps an answer's citation markers honest: `[n]`, `[n, m]` and `[n][m]` survive only for the numbers of sources
 * that were actually given; a marker naming only other numbers is removed (with the space before it), and a mixed
 * one keeps its valid numbers. Works on a stream: text after a `[` that could still become a marker is held back
 * until it is decided, so nothing invalid ever reaches the page, not even for one chunk.
 */
const MARKER = /^\[\s*(\d{1,4})((?:\s*[,;]\s*\d{1,4})*)\s*\]/;
/** Could this (a `[` and what follows so far) still grow into a marker? */
const PREFIX = /^\[\s*(?:\d{1,4}(?:\s*[,;]\s*(?:\d{1,4})?)*\s*)?$/;

export class CitationFilter {
  private held = '';
  private pendingSpace = '';
  /** Source numbers the answer cited, in order of first citation. */
  readonly cited: number[] = [];
  /** Numbers the model wrote in markers that named no given source (removed). */
  dropped = 0;

  constructor(private readonly valid: (n: number) => boolean) {}

  /** Feeds generated text; returns the text that is now safe to show. */
  push(text: string): string {
    this.held += text;
    let out = '';
    for (;;) {
      const at = this.held.indexOf('[');
      if (at < 0) {
        out += this.emit(this.held);
        this.held = '';
        return out;
      }
      out += this.emit(this.held.slice(0, at));
      const rest = this.held.slice(at);
      const m = MARKER.exec(rest);
      if (m) {
        const nums = [m[1], ...m[2].split(/[,;]/).slice(1)].map((x) => parseInt(x.trim(), 10));
        const keep = nums.filter((n, i) => this.valid(n) && nums.indexOf(n) === i);
        this.dropped += nums.filter((n) => !this.valid(n)).length;
        if (keep.length) {
          for (const n of keep) if (!this.cited.includes(n)) this.cited.push(n);
          out += this.flushSpace() + `[${keep.join(', ')}]`;
        } else {
          this.pendingSpace = ''; // the space before a dropped marker goes with it
        }
        this.held = rest.slice(m[0].length);
        continue;
      }
      if (PREFIX.test(rest) && rest.length < 32) {
        this.held = rest; // undecided: wait for more text
        return out;
      }
      out += this.emit('[');
      this.held = rest.slice(1);
    }
  }

  /** The end of the stream: whatever is held is plain text (an unfinished marker is dropped). */
  end(): string {
    const rest = this.held;
    this.held = '';
    if (rest && PREFIX.test(rest)) {
      this.pendingSpace = '';
      return '';
    }
    return this.emit(rest) + this.flushSpace();
  }

  /** Trailing spaces are held one step, so that a removed marker can take its leading space with it. */
  private emit(s: string): string {
    if (!s) return '';
    const m = /\s+$/.exec(s);
    const body = m ? s.slice(0, m.index) : s;
    let out = '';
    if (body) out = this.flushSpace() + body;
    this.pendingSpace = (body ? '' : this.pendingSpace) + (m ? m[0] : '');
    return out;
  }

  private flushSpace(): string {
    const s = this.pendingSpace;
    this.pendingSpace = '';
    return s;
  }
}

/** The whole text through a fresh filter. */
export function filterCitations(text: string, valid: (n: number) => boolean): { text: string; cited: number[] } {
  const f = new CitationFilter(valid);
  const t = f.push(text) + f.end();
  return { text: t, cited: f.cited };
}
