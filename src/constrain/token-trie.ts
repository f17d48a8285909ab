/**
 * The vocabulary as bytes, in a trie: what the grammar mask walks. Each token's bytes are exactly what it adds to
 * the output text (byte-level BPE pieces and SentencePiece `<0xNN>` byte tokens included, so partial UTF-8 pieces
 * are usable); special/control tokens have no bytes and are never offered to a grammar.
 */
import type { Tokenizer } from '../tokenizer/types.ts';
import { MAX_TOKEN_BYTES } from './json-grammar.ts';

export interface TrieNode {
  /** Child per next byte. */
  next: Map<number, TrieNode>;
  /** Tokens whose bytes end here. */
  ids: number[];
}

export interface VocabTrie {
  root: TrieNode;
  /**
   * Characters of each token that is plain string text — printable ASCII other than `"` and `\`, or whole UTF-8
   * characters from U+00A0 on — else -1. Inside a JSON string such a token is allowed exactly when it fits maxLength.
   */
  plainChars: Int16Array;
  /** The trie of the other tokens (quotes, escapes, controls, partial characters): all a string state must walk. */
  rest: TrieNode;
  /** Bytes of each token (null: special, never generated under a grammar). */
  bytes: (Uint8Array | null)[];
  vocabSize: number;
}

/** Bytes each token appends to the text (the tokenizer knows: WordPiece, SentencePiece and byte-level BPE differ). */
export function tokenBytes(tok: Tokenizer): (Uint8Array | null)[] {
  return Array.from({ length: tok.vocabSize }, (_, id) => tok.tokenBytes(id));
}

// ignoreBOM: a U+FEFF token is a character like any other (the default decoder would drop it).
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Code points of `b` if it is plain JSON string text (see VocabTrie.plainChars), else -1. */
function plainCount(b: Uint8Array): number {
  for (const x of b) if (x < 0x20 || x === 0x22 || x === 0x5c || x === 0x7f) return -1;
  let text: string;
  try {
    text = strict.decode(b);
  } catch {
    return -1; // partial or invalid UTF-8: the grammar tracks continuation bytes, so walk it
  }
  let n = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x80 && c < 0xa0) return -1; // C1 controls: leave to the grammar
    n++;
  }
  return n;
}

function insert(root: TrieNode, b: Uint8Array, id: number): void {
  let node = root;
  for (const x of b) {
    let c = node.next.get(x);
    if (!c) {
      c = { next: new Map(), ids: [] };
      node.next.set(x, c);
    }
    node = c;
  }
  node.ids.push(id);
}

export function buildTrie(bytes: (Uint8Array | null)[]): VocabTrie {
  const root: TrieNode = { next: new Map(), ids: [] };
  const rest: TrieNode = { next: new Map(), ids: [] };
  const plainChars = new Int16Array(bytes.length).fill(-1);
  bytes.forEach((b, id) => {
    if (!b || b.length > MAX_TOKEN_BYTES) return;
    insert(root, b, id);
    plainChars[id] = plainCount(b);
    if (plainChars[id] < 0) insert(rest, b, id);
  });
  return { root, rest, plainChars, bytes, vocabSize: bytes.length };
}

const tries = new WeakMap<Tokenizer, VocabTrie>();

/** The trie of a tokenizer, built once. */
export function vocabTrie(tok: Tokenizer): VocabTrie {
  let t = tries.get(tok);
  if (!t) {
    t = buildTrie(tokenBytes(tok));
    tries.set(tok, t);
  }
  return t;
}
