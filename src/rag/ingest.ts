/**
 * Documents in → stored records out: checks the inputs, reduces Markdown/HTML to text, chunks by the embedder's
 * tokens and embeds the chunks in batches, reporting progress. Nothing is written here: the store writes the result
 * in one transaction.
 */
import { InvalidRequestError } from '../errors.ts';
import { approxTokens, chunkText, type TokenCounter } from './chunk.ts';
import { extractText, guessFormat } from './extract.ts';
import type { ChunkRecord, DocInput, Embedder, StoredDoc } from './types.ts';

export interface AddProgress {
  phase: 'chunk' | 'embed' | 'store' | 'done';
  /** Chunks embedded so far, of `totalChunks`. */
  chunks: number;
  totalChunks: number;
  docs: number;
}

export interface IngestOptions {
  maxTokens: number;
  overlapTokens: number;
  embedder?: Embedder;
  embedBatch: number;
  /** The store's vector size (null: none yet; the first vector sets it). */
  dims: number | null;
  signal?: AbortSignal;
  progress: (p: Omit<AddProgress, 'docs'>) => void;
}

/** Well-formed inputs with distinct ids; `exists` refuses ids already stored (add, not upsert). */
export function checkInputs(inputs: DocInput[], exists?: (id: string) => boolean): void {
  const seen = new Set<string>();
  for (const d of inputs) {
    const pagesOk = Array.isArray(d?.pages) && d.pages.every((p) => typeof p === 'string');
    if (!d || typeof d.id !== 'string' || !d.id || (typeof d.text === 'string') === pagesOk) {
      throw new InvalidRequestError('Each document needs { id: non-empty string, text: string, meta? } or { id, pages: string[], meta? } (one of text and pages).');
    }
    if (seen.has(d.id)) throw new InvalidRequestError(`Document id ${JSON.stringify(d.id)} appears twice in one call; give each document its own id.`);
    seen.add(d.id);
    if (exists?.(d.id)) throw new InvalidRequestError(`The store already has a document ${JSON.stringify(d.id)}; use upsert() to replace it.`);
  }
}

export async function ingest(inputs: DocInput[], o: IngestOptions): Promise<{ docs: StoredDoc[]; chunks: ChunkRecord[]; dims: number | null }> {
  const count = tokenCounter(o.embedder);
  const now = Date.now();
  const docs: StoredDoc[] = [];
  const chunks: ChunkRecord[] = [];
  for (const d of inputs) {
    o.signal?.throwIfAborted();
    const format = d.format ?? guessFormat(String(d.meta?.title ?? d.id));
    const { text, pageStarts } = d.pages ? joinPages(d.pages.map((p) => extractText(p, format))) : { text: extractText(d.text!, format), pageStarts: undefined };
    const parts = await chunkText(text, count, { maxTokens: o.maxTokens, overlapTokens: o.overlapTokens });
    docs.push({ id: d.id, text, meta: { ...(d.meta ?? {}) }, chunks: parts.length, addedAt: now, rev: newRev() });
    parts.forEach((p, i) => chunks.push({
      doc: d.id, i, text: p.text, start: p.start, end: p.end, tokens: p.tokens, vector: null,
      ...(pageStarts ? { pages: [pageAt(pageStarts, p.start), pageAt(pageStarts, Math.max(p.start, p.end - 1))] as [number, number] } : {}),
    }));
    o.progress({ phase: 'chunk', chunks: 0, totalChunks: chunks.length });
  }
  let dims = o.dims;
  const embedder = o.embedder;
  if (embedder) {
    for (let i = 0; i < chunks.length; i += o.embedBatch) {
      o.signal?.throwIfAborted();
      const vs = await embedder.embed(chunks.slice(i, i + o.embedBatch).map((c) => c.text), { normalize: true });
      vs.forEach((v, j) => {
        dims ??= v.length;
        if (v.length !== dims) throw new InvalidRequestError(`The embedder returned a ${v.length}-dimensional vector where the store holds ${dims}; use the same embedder throughout.`);
        chunks[i + j].vector = Float32Array.from(v);
      });
      o.progress({ phase: 'embed', chunks: Math.min(i + o.embedBatch, chunks.length), totalChunks: chunks.length });
    }
  }
  return { docs, chunks, dims };
}

/** Pages joined by blank lines (a page break is a paragraph break for the chunker), with each page's start offset. */
export function joinPages(pages: string[]): { text: string; pageStarts: number[] } {
  const pageStarts: number[] = [];
  let text = '';
  for (const p of pages) {
    if (pageStarts.length) text += '\n\n';
    pageStarts.push(text.length);
    text += p;
  }
  return { text, pageStarts };
}

/** The page (from 1) holding character `offset`. */
export function pageAt(pageStarts: number[], offset: number): number {
  let lo = 0;
  let hi = pageStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (pageStarts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function tokenCounter(e: Embedder | undefined): TokenCounter {
  if (!e?.tokenize) return approxTokens;
  return (texts) => Promise.all(texts.map(async (t) => (await e.tokenize!(t)).length));
}

/** A version name unique enough to tell two writes of one document apart (no crypto: plain http pages lack randomUUID). */
function newRev(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}${Math.random().toString(36).slice(2, 10)}`;
}
