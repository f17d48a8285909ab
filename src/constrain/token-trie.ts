/**
 * The vocabulary as bytes, in a trie: what the grammar mask walks. Each token's bytes are exactly what it adds to
 * the output text (byte-level BPE pieces and SentencePiece `<0xNN>` byte tokens included, so partial UTF-8 pieces
 * are usable); special/control tokens have no bytes and are never offered to a grammar.
 */
import { GgufTokenizer } from '../tokenizer/gguf-tokenizer.ts';
import { CHAR_TO_BYTE } from '../tokenizer/bpe.ts';
import { TokenType } from '../tokenizer/vocab.ts';
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

const enc = new TextEncoder();

/** Bytes each token appends to the text. */
export function tokenBytes(tok: Tokenizer): (Uint8Array | null)[] {
  const n = tok.vocabSize;
  const out: (Uint8Array | null)[] = new Array(n).fill(null);
  if (tok instanceof GgufTokenizer) {
    const v = tok.vocab;
    for (let id = 0; id < n; id++) {
      const t = v.types[id];
      const text = v.tokens[id];
      if (t === TokenType.UserDefined) out[id] = enc.encode(text);
      else if (t === TokenType.Byte && v.model === 'spm') {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
        if (m) out[id] = Uint8Array.of(parseInt(m[1], 16));
      } else if (t === TokenType.Normal) {
        if (v.model === 'bpe') {
          const bytes: number[] = [];
          for (const ch of text) {
            const c = ch.codePointAt(0)!;
            const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
            if (b >= 0) bytes.push(b);
            else bytes.push(...enc.encode(ch));
          }
          out[id] = Uint8Array.from(bytes);
        } else if (v.model === 'spm') out[id] = enc.encode(text.replaceAll('\u2581', ' '));
        else out[id] = enc.encode(text.startsWith('##') ? text.slice(2) : ' ' + text);
      }
      if (out[id]?.length === 0) out[id] = null;
    }
    return out;
  }
  // Other tokenizers: what a token adds after a fixed context token (so leading-space rules do not strip it).
  // Tokens that decode to an incomplete character (U+FFFD) are left out: a grammar then never chooses them.
  const anchorIds = tok.encode('a', { addBos: false, parseSpecial: false });
  const anchor = anchorIds[anchorIds.length - 1];
  const base = tok.decode([anchor]);
  for (let id = 0; id < n; id++) {
    const s = tok.decode([anchor, id]);
    if (!s.startsWith(base)) continue;
    const piece = s.slice(base.length);
    if (piece.length === 0 || piece.includes('\uFFFD')) continue;
    out[id] = enc.encode(piece);
  }
  return out;
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
