/**
 * Retrieval-augmented generation in the page: `store()` (documents → chunks → vectors + BM25, in IndexedDB),
 * `rag(engine, store).ask()` (cited answers), `openResponseCache()` (repeated requests answered without the model).
 */
export { openStore as store, deleteStore, DocumentStore, type StoreOptions, type AddOptions, type AddProgress, type KeywordLoad } from './store.ts';
export type { GpuOption, VectorSearchInfo } from './vector-search.ts';
export { rag, RagStream, type AskOptions, type RagAnswer, type Citation, type ChatEngine } from './ask.ts';
export { openResponseCache, ResponseCache, type ResponseCacheOptions, type CacheHitInfo } from './response-cache.ts';
export { chunkText, type ChunkOptions, type TextChunk } from './chunk.ts';
export { pdfPages, type PdfJs } from './pdf.ts';
export type { DocSummary, Embedder, DocInput, DocFormat, Meta, MetaValue, MetaFilter, SearchMode, SearchOptions, SearchHit, StoredDoc } from './types.ts';
