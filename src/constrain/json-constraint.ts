/**
 * Constrained decoding for one generation: which tokens keep the output a valid prefix of a document matching the
 * schema, and which leave room to finish within the token budget.
 *
 * The mask walks the vocabulary trie with the grammar state, pruning a branch as soon as its bytes are rejected;
 * each surviving token records the fewest bytes still needed after it. That table depends only on the grammar
 * state, so it is cached per state (strings and numbers revisit the same states over and over); the budget filter
 * is a cheap pass over the cached table.
 */
import { advance, canContinue, inStringBody, initialState, isComplete, minRemaining, stateKey, type GrammarState } from './json-grammar.ts';
import type { SchemaNode } from './schema.ts';
import type { TrieNode, VocabTrie } from './token-trie.ts';

const CACHE_BYTES = 64 * 2 ** 20;

export class JsonConstraint {
  private state: GrammarState;
  private readonly cache = new Map<string, Int32Array>();
  private readonly maxEntries: number;
  /** Masks computed vs served from the cache (for tests and tuning). */
  readonly stats = { computed: 0, cached: 0 };

  constructor(root: SchemaNode, private readonly trie: VocabTrie, private readonly eosIds: readonly number[]) {
    this.state = initialState(root);
    this.maxEntries = Math.max(4, Math.floor(CACHE_BYTES / (4 * trie.vocabSize)));
  }

  /** The grammar state now (immutable; for tests and tools). */
  get grammarState(): GrammarState {
    return this.state;
  }

  /** The document is complete and nothing more may follow: stop now. */
  get finished(): boolean {
    return isComplete(this.state) && !canContinue(this.state);
  }

  get complete(): boolean {
    return isComplete(this.state);
  }

  /** Fewest tokens that can still complete the document (assuming single-byte tokens exist for the closing bytes). */
  get minRemaining(): number {
    return minRemaining(this.state);
  }

  /**
   * Allowed tokens (1) for the next step when at most `budget` tokens (this one included) may still be generated.
   * EOS tokens are allowed once the document is complete.
   */
  mask(budget: number): Uint8Array {
    const table = this.table();
    const out = new Uint8Array(this.trie.vocabSize);
    const room = budget - 1;
    for (let i = 0; i < table.length; i++) if (table[i] >= 0 && table[i] <= room) out[i] = 1;
    if (isComplete(this.state)) for (const e of this.eosIds) out[e] = 1;
    return out;
  }

  /** Advances past a chosen token; false if it is not allowed (the caller's bug, never the model's). */
  accept(id: number): boolean {
    if (this.eosIds.includes(id)) return isComplete(this.state);
    const bytes = this.trie.bytes[id];
    if (!bytes) return false;
    let s = this.state;
    for (const b of bytes) {
      s = advance(s, b);
      if (s.length === 0) return false;
    }
    this.state = s;
    return true;
  }

  private table(): Int32Array {
    const key = stateKey(this.state);
    let t = this.cache.get(key);
    if (t) {
      this.stats.cached++;
      this.cache.delete(key); // re-insert: the Map's order is the LRU order
      this.cache.set(key, t);
      return t;
    }
    this.stats.computed++;
    t = tokenTable(this.trie, this.state);
    this.cache.set(key, t);
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    return t;
  }
}

/**
 * For each token, the fewest bytes still needed after it (-1: not allowed). Inside a string's text, plain-text
 * tokens follow from their character count alone, so only the few other tokens are walked.
 */
export function tokenTable(trie: VocabTrie, state: GrammarState, fast = true): Int32Array {
  const t = new Int32Array(trie.vocabSize).fill(-1);
  const sb = fast ? inStringBody(state) : undefined;
  if (!sb) {
    walk(trie.root, state, t);
    return t;
  }
  walk(trie.rest, state, t);
  const rest = Math.max(0, sb.min - sb.count);
  const room = sb.max - sb.count;
  const pc = trie.plainChars;
  for (let id = 0; id < pc.length; id++) {
    const n = pc[id];
    if (n >= 0 && n <= room) t[id] = sb.minRem - (rest - Math.max(0, rest - n));
  }
  return t;
}

function walk(node: TrieNode, state: GrammarState, out: Int32Array): void {
  for (const [b, child] of node.next) {
    const s = advance(state, b);
    if (s.length === 0) continue;
    if (child.ids.length) {
      const rem = minRemaining(s);
      for (const id of child.ids) out[id] = rem;
    }
    if (child.next.size) walk(child, s, out);
  }
}
