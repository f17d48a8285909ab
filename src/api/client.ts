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
  /** Wraps a callback for the transport (its own MessagePort, or identity in-page)... */
  wrap<F extends object>(f: F): F;
  /** ...and releases it (closes the port) once the call has settled. */
  release(cb: unknown): void;
  check(): void;
  /** The engine's response cache, if one is in use (engine.useResponseCache). */
  responseCache?(): ResponseCacheHook | undefined;
}

/** What a response cache offers the chat path (src/rag/response-cache.ts implements it). */
export interface ResponseCacheHook {
  /** May this request be served from / stored in the cache (deterministic, one choice)? */
  accepts(req: ChatCompletionRequest): boolean;
  get(req: ChatRequestData): Promise<ChatCompletion | undefined>;
  put(req: ChatRequestData, res: ChatCompletion): Promise<void>;
}

/** A cache that can serve one model: `bind` gets a string naming the loaded model. */
export interface ResponseCacheBinder {
  bind(model: string): ResponseCacheHook;
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
    const cb = onChunk && t.wrap((cs: Chunk[]) => cs.forEach(onChunk));
    return send(id, data as Data, cb).finally(() => {
      signal?.removeEventListener('abort', stop);
      t.release(cb);
    });
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
  const plain = (req: ChatCompletionRequest) =>
    call<ChatCompletionRequest, ChatRequestData, ChatCompletion, ChatCompletionChunk>(t, req, (id, d, cb) => t.chatCompletion(id, d, cb));
  return {
    create: ((req: ChatCompletionRequest) => {
      const cache = t.responseCache?.();
      return cache && req && cache.accepts(req) ? cached(t, req, cache, plain) : plain(req);
    }) as ChatCompletions['create'],
  };
}

/** A chat request through the response cache: a hit is answered here (streamed as one chunk); a miss is stored. */
function cached(
  t: CompletionsTransport, req: ChatCompletionRequest, cache: ResponseCacheHook,
  plain: (req: ChatCompletionRequest) => Promise<ChatCompletion> | ChunkStream<ChatCompletionChunk>,
): Promise<ChatCompletion> | ChunkStream<ChatCompletionChunk> {
  t.check();
  const { signal: _, ...data } = req;
  const store = (r: ChatCompletion) => cache.put(data, r).catch((e) => console.warn('llmo: response not cached:', e));
  if (!req.stream) {
    return cache.get(data).then(async (hit) => {
      if (hit) return hit;
      const r = await (plain(req) as Promise<ChatCompletion>);
      await store(r);
      return r;
    });
  }
  let inner: ChunkStream<ChatCompletionChunk> | undefined;
  let stopped = false;
  return new ChunkStream<ChatCompletionChunk>(async (push) => {
    const hit = await cache.get(data);
    if (stopped || req.signal?.aborted) throw new AbortError('The request was aborted.');
    if (hit) {
      const c = hit.choices[0];
      const base = { id: hit.id, object: 'chat.completion.chunk' as const, created: hit.created, model: hit.model };
      const delta = { role: 'assistant' as const, ...(c.message.content !== null ? { content: c.message.content } : {}),
        ...(c.message.tool_calls ? { tool_calls: c.message.tool_calls.map((x, index) => ({ index, ...x })) } : {}) };
      push({ ...base, choices: [{ index: 0, delta, logprobs: c.logprobs, finish_reason: c.finish_reason }], usage: hit.usage });
      return;
    }
    inner = plain(req) as ChunkStream<ChatCompletionChunk>;
    let content = '';
    let last: ChatCompletionChunk | undefined;
    const toolCalls: ChatCompletionChunk['choices'][0]['delta']['tool_calls'] = [];
    for await (const c of inner) {
      push(c);
      content += c.choices[0].delta.content ?? '';
      toolCalls.push(...(c.choices[0].delta.tool_calls ?? []));
      last = c;
    }
    if (!last?.usage || !last.choices[0].finish_reason) return;
    const message: ChatCompletion['choices'][0]['message'] = toolCalls.length
      ? { role: 'assistant', content: null, refusal: null, tool_calls: toolCalls.map(({ index: _i, ...x }) => x) }
      : { role: 'assistant', content, refusal: null };
    await store({
      id: last.id, object: 'chat.completion', created: last.created, model: last.model, usage: last.usage,
      choices: [{ index: 0, message, logprobs: null, finish_reason: last.choices[0].finish_reason }],
    });
  }, () => {
    stopped = true;
    inner?.abort();
  });
}

export function completions(t: CompletionsTransport): Completions {
  return {
    create: ((req: CompletionRequest) =>
      call<CompletionRequest, CompletionRequestData, Completion, CompletionChunk>(t, req, (id, d, cb) => t.completion(id, d, cb))) as Completions['create'],
  };
}

export { ChunkStream };
