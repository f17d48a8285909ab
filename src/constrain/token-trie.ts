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

export function buildTrie(bytes: (Uint8Array | null)[]): VocabTrie {
  const root: TrieNode = { next: new Map(), ids: [] };
  bytes.forEach((b, id) => {
    if (!b || b.length > MAX_TOKEN_BYTES) return;
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
  });
  return { root, bytes, vocabSize: bytes.length };
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
