/**
 * Page side of the OpenAI-shaped API: `engine.chat.completions.create(req)` and `engine.completions.create(req)`.
 * The request (minus its AbortSignal, which cannot cross postMessage) goes to the worker; an abort is forwarded by
 * request id. With `stream: true` the call returns a ChunkStream at once (usable with or without `await`).
 */
import { AbortError } from '../errors.ts';
import { ChunkStream } from '../util/chunk-stream.ts';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionChunk, CompletionRequest,
} from './types.ts';
import type { ChatRequestData, CompletionRequestData } from './openai.ts';

/** What the client needs from the engine's message surface. */
export interface CompletionsTransport {
  /** Chunks arrive in groups (one per GPU submission: src/worker/batch-sink.ts). */
  chatCompletion(id: number, req: ChatRequestData, onChunks?: (cs: ChatCompletionChunk[]) => void): Promise<ChatCompletion>;
  completion(id: number, req: CompletionRequestData, onChunks?: (cs: CompletionChunk[]) => void): Promise<Completion>;
  abort(id: number): Promise<void> | void;
  /** Wraps a callback for the transport (comlink proxy, or identity in-page). */
  wrap<F extends object>(f: F): F;
  check(): void;
}

let nextId = 1 << 20;

function call<Req extends { signal?: AbortSignal; stream?: boolean }, Data, Res, Chunk>(
  t: CompletionsTransport, req: Req, send: (id: number, data: Data, onChunks?: (cs: Chunk[]) => void) => Promise<Res>,
): Promise<Res> | ChunkStream<Chunk> {
  t.check();
  const { signal, ...data } = req ?? ({} as Req);
  const id = nextId++;
  const stop = () => void t.abort(id);
  const run = (onChunk?: (c: Chunk) => void): Promise<Res> => {
    if (signal?.aborted) return Promise.reject(new AbortError('The signal was already aborted.'));
    signal?.addEventListener('abort', stop, { once: true });
    return send(id, data as Data, onChunk && t.wrap((cs: Chunk[]) => cs.forEach(onChunk))).finally(() => signal?.removeEventListener('abort', stop));
  };
  if (req?.stream) return new ChunkStream<Chunk>((push) => run(push), stop);
  return run();
}

export interface ChatCompletions {
  create(req: ChatCompletionRequest & { stream: true }): ChunkStream<ChatCompletionChunk>;
  create(req: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  create(req: ChatCompletionRequest): Promise<ChatCompletion> | ChunkStream<ChatCompletionChunk>;
}

export interface Completions {
  create(req: CompletionRequest & { stream: true }): ChunkStream<CompletionChunk>;
  create(req: CompletionRequest & { stream?: false | null }): Promise<Completion>;
  create(req: CompletionRequest): Promise<Completion> | ChunkStream<CompletionChunk>;
}

export function chatCompletions(t: CompletionsTransport): ChatCompletions {
  return {
    create: ((req: ChatCompletionRequest) =>
      call<ChatCompletionRequest, ChatRequestData, ChatCompletion, ChatCompletionChunk>(t, req, (id, d, cb) => t.chatCompletion(id, d, cb))) as ChatCompletions['create'],
  };
}

export function completions(t: CompletionsTransport): Completions {
  return {
    create: ((req: CompletionRequest) =>
      call<CompletionRequest, CompletionRequestData, Completion, CompletionChunk>(t, req, (id, d, cb) => t.completion(id, d, cb))) as Completions['create'],
  };
}

export { ChunkStream };
