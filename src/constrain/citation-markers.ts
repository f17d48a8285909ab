/**
 * Constrained citations (rag.ask `constrained: true`): while decoding, a `[` may only open a marker naming sources
 * 1..N — `[n]` or `[n, m]` — so an invented source number cannot be written at all (the page-side CitationFilter
 * only removes them afterwards). A byte automaton over the output:
 *   OUT  --'['-->  OPEN  --' '--> OPEN,  --digit d (1 <= d <= N)--> NUM(d)
 *   NUM(n) --digit x (10n + x <= N)--> NUM(10n + x),  --','--> OPEN,  --']'--> OUT
 * Every other byte keeps OUT, and ends nothing else. The end of the text (EOS) is allowed in OUT only. A token is
 * allowed when all its bytes pass; per state, the next state of every token is computed once (N + 2 states).
 * In this mode `[` never starts anything but a marker (and with no sources it cannot be written).
 */
import type { VocabTrie } from './token-trie.ts';

const OUT = 0;
const OPEN = 1;
/** States: OUT, OPEN, then NUM(n) = 1 + n for n in 1..N. */
const num = (n: number) => 1 + n;

const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const SPACE = 0x20;

export class CitationConstraint {
  private state = OUT;
  /** Per state: each token's next state, or -1 where a byte breaks the marker. */
  private readonly next = new Map<number, Int32Array>();

  constructor(private readonly sources: number, private readonly trie: VocabTrie, private readonly eosIds: readonly number[]) {}

  /** Text may end here (no marker left open). */
  get complete(): boolean {
    return this.state === OUT;
  }

  /** Never: the text goes on until EOS, a stop string or the budget. */
  get finished(): boolean {
    return false;
  }

  /** Tokens still needed to close an open marker (a digit and `]` at worst). */
  get minRemaining(): number {
    return this.state === OUT ? 0 : this.state === OPEN ? 2 : 1;
  }

  /** Allowed tokens (1); within the last `budget` tokens an open marker must close, and none may open on the last one. */
  mask(budget: number): Uint8Array {
    const t = this.table(this.state);
    const out = new Uint8Array(this.trie.vocabSize);
    for (let id = 0; id < t.length; id++) {
      const s = t[id];
      if (s >= 0 && this.need(s) <= budget - 1) out[id] = 1;
    }
    if (this.state === OUT) for (const e of this.eosIds) out[e] = 1;
    return out;
  }

  accept(id: number): boolean {
    if (this.eosIds.includes(id)) return this.state === OUT;
    const s = this.table(this.state)[id];
    if (s === undefined || s < 0) return false;
    this.state = s;
    return true;
  }

  private need(s: number): number {
    return s === OUT ? 0 : s === OPEN ? 2 : 1;
  }

  private table(state: number): Int32Array {
    let t = this.next.get(state);
    if (!t) {
      t = new Int32Array(this.trie.vocabSize).fill(-1);
      this.trie.bytes.forEach((bytes, id) => {
        if (!bytes || !bytes.length) return;
        let s = state;
        for (const b of bytes) if ((s = step(s, b, this.sources)) < 0) return;
        t![id] = s;
      });
      this.next.set(state, t);
    }
    return t;
  }
}

/** One byte through the automaton (-1: not allowed). */
export function step(s: number, b: number, sources: number): number {
  const digit = b >= 0x30 && b <= 0x39 ? b - 0x30 : -1;
  if (s === OUT) return b !== LBRACKET ? OUT : sources > 0 ? OPEN : -1; // no sources: no '[' at all
  if (s === OPEN) {
    if (b === SPACE) return OPEN;
    return digit >= 1 && digit <= sources ? num(digit) : -1;
  }
  const n = s - 1;
  if (digit >= 0) return n * 10 + digit <= sources ? num(n * 10 + digit) : -1;
  if (b === COMMA) return OPEN;
  if (b === RBRACKET) return OUT;
  return -1;
}
