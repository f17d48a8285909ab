/**
 * Shapes shared by the document store, its search and `rag.ask`. The store needs only a small `Embedder`: anything
 * that turns texts into vectors (an llmo engine with `embed`, or any other model) and, for token-sized chunks,
 * counts tokens the way that model does.
 */

/** What the store needs from an embedding model. An llmo engine loaded with an embedding model satisfies it. */
export interface Embedder {
  /** One vector per text, in order. The store normalizes them itself, so `normalize` is only a hint. */
  embed(texts: string[], options?: { normalize?: boolean }): Promise<ArrayLike<number>[]>;
  /** Token ids of `text` as the embedder sees it: chunks are sized by these. Without it, ~4 characters a token. */
  tokenize?(text: string): Promise<number[]>;
  /** Names the model, so a store reopened with another embedder is refused instead of mixing vector spaces. */
  info?: { name: string };
}

/** Plain values a document's metadata may hold (filters compare them with ===, or membership in an array). */
export type MetaValue = string | number | boolean | null;
export type Meta = Record<string, MetaValue | MetaValue[]>;

export type DocFormat = 'text' | 'markdown' | 'html';

export interface DocInput {
  id: string;
  /** The document's text; or give `pages` instead. */
  text?: string;
  /**
   * The text of each page, in order (e.g. from a PDF through `pdfPages`): joined with blank lines, and every chunk
   * records the pages it spans (`pages`), so citations can name them.
   */
  pages?: string[];
  meta?: Meta;
  /** How to read `text` (default: guessed from meta.title's / id's extension, else 'text'). */
  format?: DocFormat;
}

/** A stored document (its text after Markdown/HTML was reduced to plain text). */
export interface StoredDoc {
  id: string;
  text: string;
  meta: Meta;
  chunks: number;
  addedAt: number;
  /** Names this version of the document (new on every add/upsert): the saved keyword index lists the versions it holds. */
  rev?: string;
}

/** What `list()` gives per document (its text comes from `get(id)`). */
export type DocSummary = Omit<StoredDoc, 'text'>;

/** One chunk as it is stored: `start`/`end` are character offsets into its document's stored text. */
export interface ChunkRecord {
  doc: string;
  i: number;
  text: string;
  start: number;
  end: number;
  tokens: number;
  /** First and last page (from 1) the chunk's text lies on, for documents given as pages. */
  pages?: [first: number, last: number];
  /** Unit-length vector, or null in a store without an embedder. */
  vector: Float32Array | null;
}

export type SearchMode = 'vector' | 'keyword' | 'hybrid';

/** `{ field: value }` (equal) or `{ field: [a, b] }` (any of), all fields must match; or a predicate. */
export type MetaFilter = Record<string, MetaValue | MetaValue[]> | ((meta: Meta, docId: string) => boolean);

export interface SearchOptions {
  k?: number;
  /** Default 'hybrid' when the store has an embedder, else 'keyword'. */
  mode?: SearchMode;
  filter?: MetaFilter;
}

export interface SearchHit {
  /** Document id and chunk index. */
  id: string;
  chunk: number;
  text: string;
  start: number;
  end: number;
  meta: Meta;
  /** First and last page of the chunk, for documents given as pages. */
  pages?: [first: number, last: number];
  /** Cosine similarity (vector), BM25 score (keyword) or the fused reciprocal-rank score (hybrid). */
  score: number;
}
