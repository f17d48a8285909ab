/**
 * OpenAI-shaped completions on top of EngineCore, run where the model lives (the worker): validate → chat
 * template → tokens (BOS as the tokenizer says, never doubled) → fit the context → EngineCore.generate (sampling,
 * JSON/tool constraint, logprobs) → OpenAI objects, streamed chunk by chunk through `onChunk` when asked.
 */
import type { EngineCore } from '../runtime/engine-core.ts';
import type { GenerateOptions, GenerationChunk, GenerationResult, TokenLogprob } from '../runtime/engine-types.ts';
import { renderChat, FALLBACK_TEMPLATE, type ChatMessage, type ToolCall } from '../chat/template.ts';
import { AbortError, ContextOverflowError, InvalidRequestError } from '../errors.ts';
import { checkMessages, checkTools, samplingOptions, toolCallSchema, type ToolPlan } from './validate.ts';
import type {
  ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, CompletionChunk, CompletionRequest,
  FinishReason, TokenLogprobEntry, Usage,
} from './types.ts';

export type ChatRequestData = Omit<ChatCompletionRequest, 'signal'>;
export type CompletionRequestData = Omit<CompletionRequest, 'signal'>;

const enc = new TextEncoder();
let counter = 0;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}${(counter++).toString(36)}`;

export async function chatCompletion(
  core: EngineCore, req: ChatRequestData, signal: AbortSignal, onChunk?: (c: ChatCompletionChunk) => void | Promise<void>,
): Promise<ChatCompletion> {
  if (!req || typeof req !== 'object') throw new InvalidRequestError('Pass a request object: { messages: [{ role, content }], ... }.');
  checkMessages(req.messages);
  const info = core.info();
  const opts = samplingOptions(req, info.contextLength, info.config.vocabSize);
  const plan = checkTools(req);
  opts.json = jsonFormat(req, plan);
  if (req.citation_markers) {
    const n = req.citation_markers.sources;
    if (!Number.isInteger(n) || n < 0 || n > 999) throw new InvalidRequestError(`citation_markers.sources is ${n}; give the number of sources (0..999).`);
    if (opts.json) throw new InvalidRequestError('citation_markers and a JSON response_format (or tools) cannot constrain one reply together; use one.');
    opts.citations = { sources: n };
  }
  if (req.top_logprobs !== undefined && req.top_logprobs !== null) {
    if (!req.logprobs) throw new InvalidRequestError('top_logprobs needs logprobs: true.');
    if (!Number.isInteger(req.top_logprobs) || req.top_logprobs < 0 || req.top_logprobs > 20) {
      throw new InvalidRequestError(`top_logprobs is ${req.top_logprobs}; it must be an integer from 0 to 20.`);
    }
  }
  if (req.logprobs) opts.logprobs = req.top_logprobs ?? 0;
  const template = req.chat_template ?? info.chatTemplate ?? FALLBACK_TEMPLATE;
  const ids = fitChat(core, template, req.messages, req, plan, opts.maxTokens!, req.max_tokens !== undefined || req.max_completion_tokens !== undefined);

  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const model = info.name;
  // Constrained tool calls are sent whole at the end; everything else streams as content.
  const streamContent = plan.mode !== 'constrained';
  let first = true;
  const chunk = (delta: ChatCompletionChunk['choices'][0]['delta'], lp: TokenLogprobEntry[] | null, finish: FinishReason | null, usage?: Usage): ChatCompletionChunk => ({
    id, object: 'chat.completion.chunk', created, model,
    choices: [{ index: 0, delta, logprobs: lp ? { content: lp } : null, finish_reason: finish }],
    ...(usage ? { usage } : {}),
  });
  const push = onChunk && ((c: GenerationChunk) => {
    const lp = c.logprob ? [logprobEntry(core, c.logprob)] : null;
    if (!streamContent && !lp) return;
    const delta: ChatCompletionChunk['choices'][0]['delta'] = first ? { role: 'assistant' } : {};
    if (streamContent) delta.content = c.text;
    first = false;
    return onChunk(chunk(delta, lp, null));
  });
  const r = await core.generate(ids, { ...opts, signal }, push);
  if (r.finishReason === 'abort') throw new AbortError('The request was aborted.');
  const usage = usageOf(r);

  let finish: FinishReason = r.finishReason;
  let content: string | null = r.text;
  let toolCalls: ToolCall[] | undefined;
  if (plan.mode !== 'none') {
    const call = plan.mode === 'constrained' ? (r.finishReason === 'stop' ? parseCall(r.text) : undefined) : findCall(r.text, plan);
    if (call) {
      toolCalls = [{ id: newId('call'), type: 'function', function: { name: call.name, arguments: JSON.stringify(call.arguments) } }];
      content = null;
      finish = 'tool_calls';
    }
  }
  if (onChunk) {
    const delta: ChatCompletionChunk['choices'][0]['delta'] = first ? { role: 'assistant' } : {};
    if (toolCalls) delta.tool_calls = toolCalls.map((c, index) => ({ index, ...c }));
    else if (!streamContent) delta.content = r.text;
    // Awaited: the final chunk must reach the page before the result does (they use different ports).
    await onChunk(chunk(delta, null, finish, usage));
  }
  return {
    id, object: 'chat.completion', created, model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content, ...(toolCalls ? { tool_calls: toolCalls } : {}), refusal: null },
      logprobs: r.logprobs ? { content: r.logprobs.map((l) => logprobEntry(core, l)) } : null,
      finish_reason: finish,
    }],
    usage,
  };
}

export async function completion(
  core: EngineCore, req: CompletionRequestData, signal: AbortSignal, onChunk?: (c: CompletionChunk) => void | Promise<void>,
): Promise<Completion> {
  if (!req || typeof req !== 'object') throw new InvalidRequestError('Pass a request object: { prompt, ... }.');
  const info = core.info();
  const opts = samplingOptions(req, info.contextLength, info.config.vocabSize);
  if (req.logprobs !== undefined && req.logprobs !== null) {
    if (!Number.isInteger(req.logprobs) || req.logprobs < 0 || req.logprobs > 20) throw new InvalidRequestError(`logprobs is ${req.logprobs}; it must be an integer from 0 to 20.`);
    opts.logprobs = req.logprobs;
  }
  const p = req.prompt;
  let ids: number[];
  if (typeof p === 'string') ids = withBos(core, core.tokenizer.encode(p, { addBos: false }));
  else if (Array.isArray(p) && p.every((x) => Number.isInteger(x) && x >= 0 && x < info.config.vocabSize)) ids = p.slice();
  else throw new InvalidRequestError(`prompt must be a string or an array of token ids from 0 to ${info.config.vocabSize - 1}.`);
  if (ids.length === 0) throw new InvalidRequestError('prompt is empty: pass some text or token ids.');
  checkFits(ids.length, opts.maxTokens!, info.contextLength, req.max_tokens !== undefined || req.max_completion_tokens !== undefined, 'prompt');

  const id = newId('cmpl');
  const created = Math.floor(Date.now() / 1000);
  const model = info.name;
  const echo = req.echo ? (typeof p === 'string' ? p : core.detokenize(ids)) : '';
  let first = true;
  const push = onChunk && ((c: GenerationChunk) => {
    const text = (first ? echo : '') + c.text;
    first = false;
    return onChunk({ id, object: 'text_completion', created, model, choices: [{ index: 0, text, logprobs: c.logprob ? legacyLogprobs(core, [c.logprob], 0) : null, finish_reason: null }] });
  });
  const r = await core.generate(ids, { ...opts, signal }, push);
  if (r.finishReason === 'abort') throw new AbortError('The request was aborted.');
  const usage = usageOf(r);
  const finish: FinishReason = r.finishReason;
  await onChunk?.({ id, object: 'text_completion', created, model, choices: [{ index: 0, text: first ? echo : '', logprobs: null, finish_reason: finish }], usage });
  return {
    id, object: 'text_completion', created, model,
    choices: [{ index: 0, text: echo + r.text, logprobs: r.logprobs ? legacyLogprobs(core, r.logprobs, echo.length) : null, finish_reason: finish }],
    usage,
  };
}

/** The exact prompt token ids a chat request would feed the model (template, tools, BOS), without generating. */
export function chatPromptIds(core: EngineCore, req: ChatRequestData): number[] {
  if (!req || typeof req !== 'object') throw new InvalidRequestError('Pass a request object: { messages: [{ role, content }], ... }.');
  checkMessages(req.messages);
  const plan = checkTools(req);
  return renderIds(core, req.chat_template ?? core.info().chatTemplate ?? FALLBACK_TEMPLATE, req.messages, req, plan);
}

function jsonFormat(req: ChatCompletionRequest, plan: ToolPlan): GenerateOptions['json'] {
  if (plan.mode === 'constrained') {
    if (req.response_format && req.response_format.type !== 'text') {
      throw new InvalidRequestError('response_format and a forced tool call (tool_choice "required" or a named function) cannot be combined; drop one.');
    }
    return { type: 'json_schema', schema: toolCallSchema(plan.allowed) };
  }
  const f = req.response_format;
  if (f === undefined || f === null || f.type === 'text') return undefined;
  if (f.type === 'json_object') return { type: 'json_object' };
  if (f.type === 'json_schema') {
    const s = f.json_schema;
    if (!s || typeof s !== 'object' || typeof s.name !== 'string') throw new InvalidRequestError('response_format.json_schema must be { name, schema, strict? }.');
    return { type: 'json_schema', schema: s.schema ?? {} };
  }
  throw new InvalidRequestError(`response_format.type is ${JSON.stringify((f as { type: unknown }).type)}; use 'text', 'json_object' or 'json_schema'.`);
}

/** Prepends BOS when the tokenizer adds one by default and the text (e.g. a template's bos_token) did not. */
function withBos(core: EngineCore, ids: number[]): number[] {
  const t = core.tokenizer;
  if (t.addBosByDefault && t.bosId !== undefined && ids[0] !== t.bosId) ids.unshift(t.bosId);
  return ids;
}

function specialText(core: EngineCore, id: number | undefined): string {
  return id === undefined ? '' : core.tokenizer.decode([id], { keepSpecial: true });
}

function renderIds(core: EngineCore, template: string, messages: ChatMessage[], req: ChatCompletionRequest, plan: ToolPlan): number[] {
  const text = renderChat(template, messages, {
    bosToken: specialText(core, core.tokenizer.bosId),
    eosToken: specialText(core, core.tokenizer.eosIds[0]),
    tools: plan.tools.length ? plan.tools : undefined,
    extra: req.chat_template_kwargs,
  });
  // Special-token strings the template wrote (<|im_start|>, <|eot_id|>, BOS) become their single ids.
  return withBos(core, core.tokenizer.encode(text, { addBos: false, parseSpecial: true }));
}

/** Renders and tokenizes; with context_overflow 'truncate', drops the oldest non-system turns until it fits. */
function fitChat(core: EngineCore, template: string, messages: ChatMessage[], req: ChatCompletionRequest, plan: ToolPlan, maxTokens: number, explicitMax: boolean): number[] {
  const ctx = core.contextLength;
  const room = explicitMax ? maxTokens : 1;
  let msgs = messages;
  for (;;) {
    const ids = renderIds(core, template, msgs, req, plan);
    if (ids.length + room <= ctx) return ids;
    const drop = req.context_overflow === 'truncate' ? msgs.findIndex((m, i) => m.role !== 'system' && m.role !== 'developer' && i < msgs.length - 1) : -1;
    if (drop < 0) {
      checkFits(ids.length, maxTokens, ctx, explicitMax, req.context_overflow === 'truncate' ? 'last message (after dropping older turns)' : 'conversation');
    }
    msgs = msgs.filter((_, i) => i !== drop);
    // A tool result without its call, or an assistant turn without the user turn before it, confuses templates:
    // drop those along with what they answered.
    while (msgs.length > 1 && msgs[drop] && (msgs[drop].role === 'tool' || msgs[drop].role === 'assistant') && drop < msgs.length - 1) {
      msgs = msgs.filter((_, i) => i !== drop);
    }
  }
}

function checkFits(n: number, maxTokens: number, ctx: number, explicitMax: boolean, what: string): void {
  if (n >= ctx) {
    throw new ContextOverflowError(
      `The ${what} is ${n} tokens but the context holds ${ctx}; shorten it, pass context_overflow: 'truncate' to drop the oldest turns, or load with a larger contextLength.`,
    );
  }
  if (explicitMax && n + maxTokens > ctx) {
    throw new ContextOverflowError(
      `The ${what} (${n} tokens) plus max_tokens (${maxTokens}) exceeds the context of ${ctx} tokens; lower max_tokens to ${ctx - n} or less, or pass context_overflow: 'truncate'.`,
    );
  }
}

function usageOf(r: GenerationResult): Usage {
  const s = r.stats;
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.completionTokens,
    total_tokens: s.promptTokens + s.completionTokens,
    time_to_first_token_ms: s.timeToFirstTokenMs,
    prefill_tokens_per_s: s.prefillTokensPerSec,
    decode_tokens_per_s: s.decodeTokensPerSec,
    cached_prompt_tokens: s.reusedPromptTokens,
    prompt_tokens_details: { cached_tokens: s.reusedPromptTokens },
    ...(s.speculative ? { speculative_tokens: { drafted: s.speculative.drafted, accepted: s.speculative.accepted } } : {}),
  };
}

function tokenEntry(core: EngineCore, id: number, logprob: number) {
  const token = core.tokenizer.decode([id], { keepSpecial: true });
  return { token, logprob, bytes: [...enc.encode(token)] };
}

function logprobEntry(core: EngineCore, l: TokenLogprob): TokenLogprobEntry {
  return { ...tokenEntry(core, l.token, l.logprob), top_logprobs: l.top.map((t) => tokenEntry(core, t.token, t.logprob)) };
}

function legacyLogprobs(core: EngineCore, ls: TokenLogprob[], offset0: number): Completion['choices'][0]['logprobs'] {
  const tokens = ls.map((l) => core.tokenizer.decode([l.token], { keepSpecial: true }));
  const text_offset: number[] = [];
  let at = offset0;
  for (const t of tokens) {
    text_offset.push(at);
    at += t.length;
  }
  return {
    tokens,
    token_logprobs: ls.map((l) => l.logprob),
    top_logprobs: ls.map((l) => Object.fromEntries(l.top.map((t) => [core.tokenizer.decode([t.token], { keepSpecial: true }), t.logprob]))),
    text_offset,
  };
}

interface Call {
  name: string;
  arguments: unknown;
}

function parseCall(text: string): Call | undefined {
  try {
    const v = JSON.parse(text) as { name?: unknown; arguments?: unknown; parameters?: unknown };
    if (v && typeof v === 'object' && typeof v.name === 'string') return { name: v.name, arguments: v.arguments ?? v.parameters ?? {} };
  } catch {
    // not a call
  }
  return undefined;
}

/** tool_choice 'auto': a call written the way tool-trained templates ask (Qwen/Hermes `<tool_call>` tags, or bare JSON). */
export function findCall(text: string, plan: Pick<ToolPlan, 'allowed'>): Call | undefined {
  const tagged = /<tool_call>\s*([\s\S]*?)\s*<\/tool_call>/.exec(text);
  const call = parseCall(tagged ? tagged[1] : text.trim());
  return call && plan.allowed.some((t) => t.function.name === call.name) ? call : undefined;
}
