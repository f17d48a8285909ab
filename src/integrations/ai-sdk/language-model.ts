/**
 * An llmo engine as an AI SDK language model (specification v4): `doGenerate` and `doStream` are one call each to
 * `engine.chat.completions.create`, so sampling, the JSON-schema constraint, tools, abort and usage are the
 * engine's own. Nothing runs per token here beyond turning an OpenAI chunk into a stream part.
 */
import type {
  LanguageModelV4, LanguageModelV4CallOptions, LanguageModelV4Content, LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart, LanguageModelV4StreamResult, SharedV4Warning,
} from '@ai-sdk/provider';
import type { Engine } from '../../engine.ts';
import type { ChatCompletionChunk, ToolCall } from '../../api/types.ts';
import { AbortError } from '../../errors.ts';
import { finishReason, speedOf, toChatRequest, usageOf } from './convert.ts';

/** How the model reaches its engine: loaded already, or on first use (the provider's lazy `load`). */
export type EngineRef = () => Promise<Engine>;

export class LlmoLanguageModel implements LanguageModelV4 {
  readonly specificationVersion = 'v4' as const;
  readonly provider = 'llmo';
  /** Only text runs; no URL is fetched on the model's behalf. */
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(readonly modelId: string, private readonly engine: EngineRef) {}

  async doGenerate(options: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
    const engine = await this.engine();
    const { request, warnings } = toChatRequest(options);
    const r = await rethrowAbort(options.abortSignal, engine.chat.completions.create({ ...request, signal: options.abortSignal }));
    const choice = r.choices[0];
    const content: LanguageModelV4Content[] = [];
    if (choice.message.content) content.push({ type: 'text', text: choice.message.content });
    for (const c of choice.message.tool_calls ?? []) content.push(toolCall(c));
    return {
      content,
      finishReason: finishReason(choice.finish_reason),
      usage: usageOf(r.usage),
      providerMetadata: speedOf(r.usage),
      request: { body: request },
      response: { id: r.id, timestamp: new Date(r.created * 1000), modelId: r.model, body: r },
      warnings,
    };
  }

  async doStream(options: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
    const engine = await this.engine();
    const { request, warnings } = toChatRequest(options);
    const chunks = engine.chat.completions.create({ ...request, stream: true, signal: options.abortSignal });
    const it = chunks[Symbol.asyncIterator]();
    // The first chunk is awaited here so that a rejected request (bad field, prompt too long) rejects doStream,
    // as an HTTP provider's error status would, instead of surfacing as a stream part.
    const first = await rethrowAbort(options.abortSignal, it.next());
    const parts = new StreamParts(warnings, options.includeRawChunks ?? false, (request.tools?.length ?? 0) > 0 && request.tool_choice !== 'none');
    let pending: IteratorResult<ChatCompletionChunk> | undefined = first;
    const stream = new ReadableStream<LanguageModelV4StreamPart>({
      start: (c) => parts.start(c),
      pull: async (c) => {
        try {
          // A pull must enqueue something or the stream never pulls again: skip chunks that add no part (an empty
          // delta while a multi-byte character is incomplete).
          for (;;) {
            const n = pending ?? (await it.next());
            pending = undefined;
            if (n.done) return parts.end(c);
            if (parts.chunk(c, n.value)) return;
          }
        } catch (e) {
          if (options.abortSignal?.aborted || e instanceof AbortError) c.error(abortError(options.abortSignal, e));
          else {
            c.enqueue({ type: 'error', error: e });
            c.close();
          }
        }
      },
      cancel: () => chunks.abort(),
    }, { highWaterMark: 0 });
    return { stream, request: { body: request } };
  }
}

const toolCall = (c: ToolCall): LanguageModelV4Content => ({ type: 'tool-call', toolCallId: c.id, toolName: c.function.name, input: c.function.arguments });

type Sink = ReadableStreamDefaultController<LanguageModelV4StreamPart>;

/**
 * OpenAI chunks → v4 stream parts. With tools in 'auto' mode the engine streams the model's text and reports a call
 * only at the end; text that may still turn out to be a call (it starts with `{` or `<tool_call>`) is held back
 * until it is known, so a call never also shows up as text.
 */
class StreamParts {
  private textOpen = false;
  private held = '';
  private sent = false;
  private metadata = false;
  private finished = false;
  private enqueued = 0;

  constructor(private readonly warnings: SharedV4Warning[], private readonly raw: boolean, private readonly mayCall: boolean) {}

  private put(c: Sink, part: LanguageModelV4StreamPart): void {
    c.enqueue(part);
    this.enqueued++;
  }

  start(c: Sink): void {
    this.put(c, { type: 'stream-start', warnings: this.warnings });
  }

  /** Enqueues the parts of one chunk; returns how many. */
  chunk(c: Sink, k: ChatCompletionChunk): number {
    const before = this.enqueued;
    if (this.raw) this.put(c, { type: 'raw', rawValue: k });
    if (!this.metadata) {
      this.metadata = true;
      this.put(c, { type: 'response-metadata', id: k.id, timestamp: new Date(k.created * 1000), modelId: k.model });
    }
    const ch = k.choices[0];
    if (ch.delta.content) this.text(c, ch.delta.content);
    if (ch.finish_reason) {
      const calls = ch.delta.tool_calls ?? [];
      if (!calls.length) this.flush(c);
      this.closeText(c);
      for (const call of calls) {
        this.put(c, { type: 'tool-input-start', id: call.id, toolName: call.function.name });
        this.put(c, { type: 'tool-input-delta', id: call.id, delta: call.function.arguments });
        this.put(c, { type: 'tool-input-end', id: call.id });
        this.put(c, { type: 'tool-call', toolCallId: call.id, toolName: call.function.name, input: call.function.arguments });
      }
      this.put(c, { type: 'finish', finishReason: finishReason(ch.finish_reason), usage: usageOf(k.usage), providerMetadata: speedOf(k.usage) });
      this.finished = true;
    }
    return this.enqueued - before;
  }

  end(c: Sink): void {
    if (!this.finished) {
      this.flush(c);
      this.closeText(c);
      this.put(c, { type: 'finish', finishReason: { unified: 'other', raw: undefined }, usage: usageOf(undefined) });
    }
    c.close();
  }

  private text(c: Sink, t: string): void {
    if (this.mayCall && !this.sent) {
      this.held += t;
      const s = this.held.trimStart();
      if (s === '' || s.startsWith('{') || s.startsWith('<tool_call>') || '<tool_call>'.startsWith(s)) return;
      t = this.held;
      this.held = '';
    }
    this.emit(c, t);
  }

  private flush(c: Sink): void {
    if (this.held) this.emit(c, this.held);
    this.held = '';
  }

  private emit(c: Sink, t: string): void {
    if (!this.textOpen) {
      this.textOpen = true;
      this.put(c, { type: 'text-start', id: 'text-0' });
    }
    this.sent = true;
    this.put(c, { type: 'text-delta', id: 'text-0', delta: t });
  }

  private closeText(c: Sink): void {
    if (this.textOpen) this.put(c, { type: 'text-end', id: 'text-0' });
    this.textOpen = false;
  }
}

/** The AI SDK recognizes an abort by a DOMException named AbortError (or the signal's own reason). */
function abortError(signal: AbortSignal | undefined, e: unknown): unknown {
  return signal?.aborted ? (signal.reason ?? new DOMException('Aborted', 'AbortError')) : new DOMException((e as Error).message, 'AbortError');
}

async function rethrowAbort<T>(signal: AbortSignal | undefined, p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (signal?.aborted || e instanceof AbortError) throw abortError(signal, e);
    throw e;
  }
}
