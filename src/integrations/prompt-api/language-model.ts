/**
 * `LanguageModel` as the Prompt API specifies it (webmachinelearning/prompt-api IDL), backed by an llmo engine.
 * A session is its conversation (chat messages); each call renders it with the model's own chat template through
 * `engine.chat.completions.create`, whose KV reuse makes a follow-up prefill only its new turn. Token counts are the
 * model tokenizer's (`engine.tokenizeChat`), so `contextUsage` and `measureContextUsage()` are exact.
 */
import type { Engine } from '../../engine.ts';
import type { ChatCompletionRequest, ChatMessage } from '../../api/types.ts';
import { AbortError, ContextOverflowError, EngineStateError, UnsupportedSchemaError } from '../../errors.ts';
import type { LoadProgress } from '../../loader/load-model.ts';
import type { Backend } from './backend.ts';
import { canonicalLanguages, canonicalize, domError, unsupportedTypes, type LanguageModelPrompt, type PromptMessage } from './messages.ts';

export interface LanguageModelExpected {
  type: 'text' | 'image' | 'audio' | 'tool-call' | 'tool-response';
  languages?: string[];
}
export interface LanguageModelCreateCoreOptions {
  topK?: number;
  temperature?: number;
  expectedInputs?: LanguageModelExpected[];
  expectedOutputs?: LanguageModelExpected[];
  tools?: unknown[];
}
export interface LanguageModelCreateOptions extends LanguageModelCreateCoreOptions {
  signal?: AbortSignal;
  monitor?: (m: EventTarget) => void;
  initialPrompts?: PromptMessage[];
}
export interface LanguageModelPromptOptions {
  responseConstraint?: object;
  omitResponseConstraintInput?: boolean;
  signal?: AbortSignal;
}

/** Session defaults (the specification leaves them to the implementation). */
export interface SamplingDefaults {
  temperature: number;
  topK: number;
}

const ILLEGAL = Symbol('llmo.LanguageModel');
const DESTROYED = 'The model execution session has been destroyed.';

/** The `LanguageModel` class for one backend (installPromptApi makes one and puts it on globalThis). */
export function languageModelClass(backend: Backend, defaults: SamplingDefaults) {
  class CreateMonitor extends EventTarget {
    #handler: ((e: Event) => void) | null = null;
    get ondownloadprogress() {
      return this.#handler;
    }
    set ondownloadprogress(h: ((e: Event) => void) | null) {
      if (this.#handler) this.removeEventListener('downloadprogress', this.#handler);
      this.#handler = typeof h === 'function' ? h : null;
      if (this.#handler) this.addEventListener('downloadprogress', this.#handler);
    }
  }

  class LanguageModel extends EventTarget {
    #engine: Engine;
    #messages: ChatMessage[];
    #usage: number;
    #sampling: SamplingDefaults;
    #destroy = new AbortController();
    #queue: Promise<unknown> = Promise.resolve();
    #overflowHandler: ((e: Event) => void) | null = null;

    /** Sessions come from `LanguageModel.create()`; the constructor is not for pages (TypeError, as in the IDL). */
    constructor(token: symbol, engine: Engine, messages: ChatMessage[], usage: number, sampling: SamplingDefaults) {
      if (token !== ILLEGAL) throw new TypeError('Illegal constructor: use LanguageModel.create().');
      super();
      this.#engine = engine;
      this.#messages = messages;
      this.#usage = usage;
      this.#sampling = sampling;
    }

    static async availability(options: LanguageModelCreateCoreOptions = {}): Promise<'unavailable' | 'downloadable' | 'downloading' | 'available'> {
      canonicalLanguages(options.expectedInputs);
      canonicalLanguages(options.expectedOutputs);
      if (unsupportedTypes(options.expectedInputs).length || unsupportedTypes(options.expectedOutputs).length || options.tools?.length) return 'unavailable';
      return backend.availability();
    }

    static async params() {
      return { defaultTopK: defaults.topK, maxTopK: 1000, defaultTemperature: defaults.temperature, maxTemperature: 2 };
    }

    static async create(options: LanguageModelCreateOptions = {}): Promise<LanguageModel> {
      const signal = options.signal;
      if (signal?.aborted) throw signal.reason;
      canonicalLanguages(options.expectedInputs);
      canonicalLanguages(options.expectedOutputs);
      const bad = [...unsupportedTypes(options.expectedInputs), ...unsupportedTypes(options.expectedOutputs)];
      if (bad.length) throw domError('NotSupportedError', `llmo runs text models; '${bad[0]}' input or output is not available.`);
      if (options.tools?.length) throw domError('NotSupportedError', 'llmo\'s Prompt API does not run tools yet; use engine.chat.completions with tools.');
      const initial = options.initialPrompts ? canonicalize(options.initialPrompts, false) : [];
      const monitor = new CreateMonitor();
      // A monitor that throws fails create() with its error, before anything loads.
      options.monitor?.(monitor);
      const progress = new ProgressEvents(monitor);
      const work = (async () => {
        progress.emit(0);
        const engine = await backend.get((p) => progress.load(p));
        const usage = initial.length ? (await engine.tokenizeChat({ messages: initial })).length : 0;
        if (usage > engine.info.contextLength) throw quotaError(usage, engine.info.contextLength);
        if (signal?.aborted) throw signal.reason;
        progress.emit(1);
        const session = new LanguageModel(ILLEGAL, engine, initial, usage, {
          temperature: options.temperature ?? defaults.temperature,
          topK: options.topK ?? defaults.topK,
        });
        // The create signal stays tied to the session: aborting it later destroys the session with its reason.
        signal?.addEventListener('abort', () => session.#destroy.abort(signal.reason), { once: true });
        return session;
      })();
      return signal ? raceAbort(work, signal) : work;
    }

    get contextUsage(): number {
      return this.#usage;
    }

    get contextWindow(): number {
      return this.#engine.info.contextLength;
    }

    get oncontextoverflow() {
      return this.#overflowHandler;
    }

    set oncontextoverflow(h: ((e: Event) => void) | null) {
      if (this.#overflowHandler) this.removeEventListener('contextoverflow', this.#overflowHandler);
      this.#overflowHandler = typeof h === 'function' ? h : null;
      if (this.#overflowHandler) this.addEventListener('contextoverflow', this.#overflowHandler);
    }

    prompt(input: LanguageModelPrompt, options: LanguageModelPromptOptions = {}): Promise<string> {
      return this.#run(options.signal, async (s) => {
        const turn = await this.#prefill(input, options, s);
        const r = await this.#engine.chat.completions.create({ ...turn.request, stream: false, signal: s });
        const text = r.choices[0].message.content ?? '';
        await this.#commit(turn.messages, text, s);
        return text;
      });
    }

    promptStreaming(input: LanguageModelPrompt, options: LanguageModelPromptOptions = {}): ReadableStream<string> {
      const cancel = new AbortController();
      const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
      // An already-aborted or destroyed session throws at the call, as the specification's steps do.
      const pre = this.#composite(options.signal);
      if (pre.aborted) throw pre.reason;
      return new ReadableStream<string>({
        start: (c) => {
          this.#run(signal, async (s) => {
            const turn = await this.#prefill(input, options, s);
            let text = '';
            for await (const k of this.#engine.chat.completions.create({ ...turn.request, stream: true, signal: s })) {
              const d = k.choices[0].delta.content;
              if (d) {
                text += d;
                c.enqueue(d);
              }
            }
            await this.#commit(turn.messages, text, s);
          }).then(() => c.close(), (e) => c.error(e));
        },
        cancel: (reason) => cancel.abort(reason ?? domError('AbortError', 'The stream was cancelled.')),
      }, { highWaterMark: 0 });
    }

    append(input: LanguageModelPrompt, options: { signal?: AbortSignal } = {}): Promise<undefined> {
      return this.#run(options.signal, async (s) => {
        const turn = await this.#prefill(input, {}, s);
        // Prefill now (one token is generated and dropped) so the next prompt reuses this KV instead of computing it.
        await this.#engine.chat.completions.create({ ...turn.request, max_tokens: 1, temperature: 0, response_format: undefined, signal: s });
        if (s.aborted) throw s.reason;
        this.#messages = [...this.#messages, ...turn.messages];
        this.#usage = turn.total;
        return undefined;
      });
    }

    measureContextUsage(input: LanguageModelPrompt, options: LanguageModelPromptOptions = {}): Promise<number> {
      if (options.omitResponseConstraintInput && !options.responseConstraint) {
        return Promise.reject(new TypeError('omitResponseConstraintInput needs a responseConstraint.'));
      }
      return this.#run(options.signal, async () => {
        const messages = canonicalize(input, this.#messages.length > 0);
        const total = (await this.#engine.tokenizeChat({ messages: [...this.#messages, ...messages] })).length;
        return Math.max(0, total - this.#usage);
      }, false);
    }

    clone(options: { signal?: AbortSignal } = {}): Promise<LanguageModel> {
      return this.#run(options.signal, async () => new LanguageModel(ILLEGAL, this.#engine, [...this.#messages], this.#usage, { ...this.#sampling }), false);
    }

    destroy(): void {
      this.#destroy.abort(domError('InvalidStateError', DESTROYED));
    }

    #composite(signal?: AbortSignal): AbortSignal {
      return signal ? AbortSignal.any([this.#destroy.signal, signal]) : this.#destroy.signal;
    }

    /**
     * Runs `op` after the session's earlier calls (one conversation, one order), rejecting at once with the abort
     * reason when the caller's signal fires or the session is destroyed.
     */
    #run<T>(signal: AbortSignal | undefined, op: (s: AbortSignal) => Promise<T>, queued = true): Promise<T> {
      const s = this.#composite(signal);
      if (s.aborted) return Promise.reject(s.reason);
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(s.reason);
        s.addEventListener('abort', onAbort, { once: true });
        const task = queued ? this.#queue.then(() => (s.aborted ? Promise.reject(s.reason) : op(s))) : op(s);
        if (queued) this.#queue = task.catch(() => {});
        task.then(resolve, (e) => reject(s.aborted ? s.reason : toDomError(e))).finally(() => s.removeEventListener('abort', onAbort));
      });
    }

    /** The turn's messages and the request for the whole conversation; QuotaExceededError when it cannot fit. */
    async #prefill(input: LanguageModelPrompt, options: LanguageModelPromptOptions, s: AbortSignal) {
      if (options.omitResponseConstraintInput && !options.responseConstraint) throw new TypeError('omitResponseConstraintInput needs a responseConstraint.');
      const messages = canonicalize(input, this.#messages.length > 0);
      const request: Omit<ChatCompletionRequest, 'signal'> = {
        messages: [...this.#messages, ...messages],
        temperature: this.#sampling.temperature,
        top_k: this.#sampling.topK,
      };
      const c = options.responseConstraint;
      if (c !== undefined && c !== null) {
        if (c instanceof RegExp) throw domError('NotSupportedError', 'llmo constrains output to a JSON schema; a RegExp constraint is not supported.');
        // The schema becomes a token mask: every output parses and validates.
        request.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: c as Record<string, unknown> } };
      }
      const total = (await this.#engine.tokenizeChat(request)).length;
      if (s.aborted) throw s.reason;
      if (total >= this.contextWindow) {
        this.dispatchEvent(new Event('contextoverflow'));
        throw quotaError(total, this.contextWindow);
      }
      return { messages, request, total };
    }

    async #commit(messages: ChatMessage[], text: string, s: AbortSignal): Promise<void> {
      if (s.aborted) throw s.reason;
      const next = [...this.#messages, ...messages, { role: 'assistant' as const, content: text }];
      this.#usage = (await this.#engine.tokenizeChat({ messages: next })).length;
      this.#messages = next;
    }
  }
  return LanguageModel;
}

/**
 * `downloadprogress` events as the specification asks: `loaded` from 0 to 1 (`total` 1), strictly increasing,
 * rounded down to a 65536th, the first 0 and the last 1, all before create() resolves.
 */
class ProgressEvents {
  private last = -1;
  constructor(private readonly target: EventTarget) {}

  load(p: LoadProgress): void {
    // Compiling pipelines is part of getting ready: 1 is sent only when the session exists.
    this.emit(Math.min(p.fraction, 0.9999));
  }

  emit(fraction: number): void {
    const loaded = Math.floor(Math.max(0, Math.min(1, fraction)) * 0x10000) / 0x10000;
    if (loaded <= this.last) return;
    this.last = loaded;
    this.target.dispatchEvent(new ProgressEvent('downloadprogress', { loaded, total: 1, lengthComputable: true }));
  }
}

/** QuotaExceededError with `requested` and `quota` (the DOM's own class where the browser has it). */
function quotaError(requested: number, quota: number): DOMException {
  const message = `The input needs ${requested} tokens of context but the session holds ${quota}; start a new session, or clone() one with less history.`;
  const Ctor = (globalThis as { QuotaExceededError?: new (m: string, o: { requested: number; quota: number }) => DOMException }).QuotaExceededError;
  if (typeof Ctor === 'function') return new Ctor(message, { requested, quota });
  return Object.assign(domError('QuotaExceededError', message), { requested, quota });
}

/** llmo's typed errors → the DOMException names the Prompt API uses. */
function toDomError(e: unknown): unknown {
  if (e instanceof DOMException || e instanceof TypeError || e instanceof RangeError) return e;
  const m = e instanceof Error ? e.message : String(e);
  if (e instanceof AbortError) return domError('AbortError', m);
  if (e instanceof ContextOverflowError) return domError('QuotaExceededError', m);
  if (e instanceof UnsupportedSchemaError) return domError('NotSupportedError', m);
  if (e instanceof EngineStateError) return domError('InvalidStateError', m);
  return domError('UnknownError', m);
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
