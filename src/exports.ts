/** Everything the package exports besides `load`: shared by the browser entry (index.ts) and the Node one (node.ts). */
export { Engine, GenerationStream, type GenerateCallOptions, type EvaluateCallOptions } from './engine.ts';
export type { EvaluateResult } from './runtime/evaluate.ts';
export type { GenerationChunk, GenerationResult, GenerationStats, ModelInfo, TokenLogprob, JsonFormat, LoraRequest, AdapterInfo } from './runtime/engine-types.ts';
export type { AdapterSource } from './lora/fetch-adapter.ts';
export type { LoadAdapterOptions } from './lora/adapters.ts';
export type * from './api/types.ts';
export { ChunkStream, type ChatCompletions, type Completions } from './api/client.ts';
export type { EmbedOptions, Embeddings, EmbeddingCreateRequest, CreateEmbeddingResponse, Embedding } from './api/embeddings.ts';
export { base64ToVector } from './api/embed-vectors.ts';
export type { LoadProgress, LoadPhase } from './loader/load-model.ts';
export type { ModelSource, HfFileSource, SourceOptions } from './loader/source.ts';
export type { PickedFiles } from './loader/picked-files.ts';
export { cache, type CachedModel, type CacheUsage } from './cache/index.ts';
export type { KernelTime } from './gpu/profiler.ts';
export type { ModelConfig, Architecture, Pooling } from './model/types.ts';
export * from './errors.ts';
export { openaiFetch } from './integrations/openai-fetch.ts';
export * from './rag/index.ts';
