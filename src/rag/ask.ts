/**
 * `rag(engine, store).ask(question)`: retrieve → number the sources → one chat request through the engine's
 * OpenAI-shaped API (its own chat template, streaming, the response cache if the engine has one) → an answer whose
 * citation markers refer only to the sources given (CitationFilter), with those sources as `citations`.
 *
 * The prompt is one user turn (some templates refuse a system turn) holding the instructions, the sources in rank
 * order as long as they fit the context next to the question and `maxTokens` of answer, and the question.
 */
import { ContextOverflowError } from '../errors.ts';
import type { ChatCompletions } from '../api/client.ts';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatMessage, Usage } from '../api/types.ts';
import { ChunkStream } from '../util/chunk-stream.ts';
import { CitationFilter } from './citations.ts';
import type { DocumentStore } from './store.ts';
import type { MetaFilter, SearchHit, SearchMode } from './types.ts';

/** What `rag` needs of an engine: an llmo Engine has all of it. */
export interface ChatEngine {
  chat: { completions: ChatCompletions };
  tokenize(text: string, options?: { addBos?: boolean }): Promise<number[]>;
  info: { contextLength: number };
}

export interface AskOptions {
  /** Sources to retrieve (default 4); fewer are given when the context cannot hold them. */
  k?: number;
  mode?: SearchMode;
  filter?: MetaFilter;
  /** Most answer tokens (default 256); at most half the context, so that sources fit beside the answer. */
  maxTokens?: number;
  /** Default 0 (greedy): answers that stick to the sources, and cacheable. */
  temperature?: number;
  seed?: number;
  /** Prepended as a system turn (for models whose template has one). */
  system?: string;
  /** Replaces the default instructions before the sources. */
  instructions?: string;
  stream?: boolean;
  /**
   * Enforce citations while decoding: a `[` may only open a marker of a given source (a token mask in the engine),
   * so none is ever invented — instead of removed afterwards. Decodes token by token (like JSON output), so slower.
   */
  constrained?: boolean;
  signal?: AbortSignal;
  /** More chat request fields (top_k, logit_bias, stop, …) passed through to chat.completions.create. */
  request?: Omit<ChatCompletionRequest, 'messages' | 'stream' | 'signal' | 'max_tokens' | 'temperature' | 'seed'>;
}

/** A passage given to the model as source [n]: the search hit (without its metadata), its number, and whether it was cited. */
export interface Citation extends Omit<SearchHit, 'meta'> {
  /** The marker number in the answer: [n]. */
  n: number;
  /** Did the answer cite it? */
  cited: boolean;
}

export interface RagAnswer {
  answer: string;
  /** Every source given to the model, numbered as in the prompt. Markers in `answer` name only these. */
  citations: Citation[];
  finishReason: string;
  /** Marker numbers the model wrote for sources it was not given: removed from `answer`. */
  droppedMarkers: number;
  usage: Usage;
  /** Retrieval; prefill (to the first token); decode (the rest); all in ms. */
  timings: { retrievalMs: number; prefillMs: number; decodeMs: number; totalMs: number };
}

/** A streamed answer: iterate for text pieces (already filtered); `result` settles with the whole RagAnswer. */
export class RagStream extends ChunkStream<{ text: string }, RagAnswer> {
  get result(): Promise<RagAnswer> {
    return this.settled;
  }
}

export const DEFAULT_INSTRUCTIONS =
  'Answer the question using only the numbered sources below. After each fact, cite its source number in square brackets, like [1]. If the sources do not hold the answer, say so.';

export function rag(engine: ChatEngine, store: DocumentStore, defaults: AskOptions = {}) {
  function ask(question: string, options: AskOptions & { stream: true }): RagStream;
  function ask(question: string, options?: AskOptions & { stream?: false }): Promise<RagAnswer>;
  function ask(question: string, options: AskOptions = {}): Promise<RagAnswer> | RagStream {
    const o = { ...defaults, ...options };
    const ac = new AbortController();
    const abort = () => ac.abort();
    o.signal?.addEventListener('abort', abort, { once: true });
    const run = (push?: (c: { text: string }) => void) => answer(engine, store, question, { ...o, signal: ac.signal }, push).finally(() => o.signal?.removeEventListener('abort', abort));
    return o.stream ? new RagStream(run, abort) : run();
  }
  return { ask };
}

async function answer(engine: ChatEngine, store: DocumentStore, question: string, o: AskOptions, push?: (c: { text: string }) => void): Promise<RagAnswer> {
  const t0 = performance.now();
  const hits = await store.search(question, { k: o.k ?? 4, mode: o.mode, filter: o.filter });
  const ctx = engine.info.contextLength;
  const maxTokens = Math.max(1, Math.min(o.maxTokens ?? 256, Math.floor(ctx / 2)));
  let given = await fitSources(engine, hits, question, o, ctx - maxTokens);
  const retrievalMs = performance.now() - t0;

  for (;;) {
    const messages = buildMessages(given, question, o);
    const filter = new CitationFilter((n) => n >= 1 && n <= given.length);
    const t1 = performance.now();
    let firstAt = 0;
    let text = '';
    let finish = 'stop';
    let usage: Usage | undefined;
    try {
      const constrain = o.constrained ? { citation_markers: { sources: given.length } } : {};
      const stream = engine.chat.completions.create({ ...o.request, ...constrain, messages, max_tokens: maxTokens, temperature: o.temperature ?? 0, seed: o.seed, stream: true, signal: o.signal });
      for await (const c of stream as AsyncIterable<ChatCompletionChunk>) {
        const piece = c.choices[0].delta.content;
        if (piece) {
          firstAt ||= performance.now();
          const safe = filter.push(piece);
          text += safe;
          if (safe) push?.({ text: safe });
        }
        if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
        if (c.usage) usage = c.usage;
      }
    } catch (e) {
      // The template's own tokens were more than the estimate allowed for: one source fewer.
      if (e instanceof ContextOverflowError && given.length > 0) {
        given = given.slice(0, -1);
        continue;
      }
      throw e;
    }
    const tail = filter.end();
    text += tail;
    if (tail) push?.({ text: tail });
    const end = performance.now();
    firstAt ||= end;
    return {
      answer: text,
      citations: given.map((h, i) => ({ n: i + 1, id: h.id, chunk: h.chunk, text: h.text, start: h.start, end: h.end, score: h.score, ...(h.pages ? { pages: h.pages } : {}), cited: filter.cited.includes(i + 1) })),
      finishReason: finish,
      droppedMarkers: filter.dropped,
      usage: usage!,
      timings: { retrievalMs, prefillMs: firstAt - t1, decodeMs: end - firstAt, totalMs: end - t0 },
    };
  }
}

function sourceLine(h: SearchHit, n: number): string {
  const title = typeof h.meta.title === 'string' && h.meta.title ? h.meta.title : '';
  const page = h.pages ? (h.pages[0] === h.pages[1] ? `p. ${h.pages[0]}` : `pp. ${h.pages[0]}-${h.pages[1]}`) : '';
  const label = [title, page].filter(Boolean).join(', ');
  return `[${n}] ${label ? `(${label}) ` : ''}${h.text.replace(/\s+/g, ' ').trim()}`;
}

export function buildMessages(given: SearchHit[], question: string, o: Pick<AskOptions, 'system' | 'instructions'>): ChatMessage[] {
  const sources = given.length ? given.map((h, i) => sourceLine(h, i + 1)).join('\n') : '(no sources found)';
  const user = `${o.instructions ?? DEFAULT_INSTRUCTIONS}\n\nSources:\n${sources}\n\nQuestion: ${question}`;
  return [...(o.system ? [{ role: 'system' as const, content: o.system }] : []), { role: 'user', content: user }];
}

/** Sources in rank order while the prompt (by the model's tokenizer, plus a margin for the template) fits `room`. */
async function fitSources(engine: ChatEngine, hits: SearchHit[], question: string, o: AskOptions, room: number): Promise<SearchHit[]> {
  const TEMPLATE_MARGIN = 24;
  const base = (await engine.tokenize(buildMessages([], question, o).map((m) => m.content).join('\n'))).length + TEMPLATE_MARGIN;
  const given: SearchHit[] = [];
  let used = base;
  for (const h of hits) {
    const n = (await engine.tokenize(sourceLine(h, given.length + 1) + '\n')).length;
    if (used + n <= room) {
      given.push(h);
      used += n;
    } else if (given.length === 0 && room - used >= 16) {
      // Not even the best source fits whole (a small context): give the part of it that does.
      const keep = Math.floor((h.text.length * (room - used)) / n * 0.9);
      given.push({ ...h, text: h.text.slice(0, keep), end: h.start + keep });
      used = room;
    }
    // else: a shorter, lower-ranked source may still fit
  }
  return given;
}
