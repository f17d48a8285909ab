/**
 * The AI SDK's language-model call (provider specification v4, `@ai-sdk/provider`) ↔ llmo's OpenAI-shaped chat
 * request and response. Pure mapping, no engine calls: what a setting becomes, or the warning when llmo ignores it.
 * Types only from `@ai-sdk/provider` (erased at build time), so the bundle never contains the AI SDK.
 */
import type {
  LanguageModelV4CallOptions, LanguageModelV4FinishReason, LanguageModelV4Prompt, LanguageModelV4ToolResultOutput,
  LanguageModelV4Usage, SharedV4Warning,
} from '@ai-sdk/provider';
import type { ChatCompletionRequest, ChatMessage, FinishReason, ToolDefinition, Usage } from '../../api/types.ts';
import { InvalidRequestError } from '../../errors.ts';

/** llmo-only request fields a caller may pass as `providerOptions: { llmo: { … } }`. */
const LLMO_OPTIONS = ['min_p', 'repetition_penalty', 'logit_bias', 'chat_template', 'chat_template_kwargs', 'context_overflow'] as const;

export interface ChatCall {
  request: Omit<ChatCompletionRequest, 'signal' | 'stream'>;
  warnings: SharedV4Warning[];
}

/** Call options → an llmo chat request (+ warnings for what llmo does not do). */
export function toChatRequest(o: LanguageModelV4CallOptions): ChatCall {
  const warnings: SharedV4Warning[] = [];
  const request: ChatCall['request'] = { messages: toMessages(o.prompt) };
  if (o.maxOutputTokens !== undefined) request.max_tokens = o.maxOutputTokens;
  if (o.temperature !== undefined) request.temperature = o.temperature;
  if (o.topP !== undefined) request.top_p = o.topP;
  if (o.topK !== undefined) request.top_k = o.topK;
  if (o.presencePenalty !== undefined) request.presence_penalty = o.presencePenalty;
  if (o.frequencyPenalty !== undefined) request.frequency_penalty = o.frequencyPenalty;
  if (o.seed !== undefined) request.seed = o.seed;
  if (o.stopSequences?.length) request.stop = o.stopSequences;
  const f = o.responseFormat;
  if (f?.type === 'json') {
    // The schema becomes a token mask (constrained decoding), not a prompt instruction.
    request.response_format = f.schema
      ? { type: 'json_schema', json_schema: { name: f.name ?? 'response', description: f.description, schema: f.schema as Record<string, unknown>, strict: true } }
      : { type: 'json_object' };
  }
  const tools: ToolDefinition[] = [];
  for (const t of o.tools ?? []) {
    if (t.type === 'function') {
      tools.push({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema as Record<string, unknown> } });
    } else {
      warnings.push({ type: 'unsupported', feature: `provider tool ${t.id}`, details: 'llmo runs function tools only.' });
    }
  }
  if (tools.length) {
    request.tools = tools;
    const c = o.toolChoice;
    if (c) request.tool_choice = c.type === 'tool' ? { type: 'function', function: { name: c.toolName } } : c.type;
  }
  if (o.reasoning !== undefined && o.reasoning !== 'provider-default' && o.reasoning !== 'none') {
    warnings.push({ type: 'unsupported', feature: 'reasoning', details: 'llmo has no reasoning-effort setting; pass chat_template_kwargs (e.g. enable_thinking) in providerOptions.llmo.' });
  }
  // Headers are ignored without a warning: the AI SDK always sends its own user-agent header.
  const extra = o.providerOptions?.llmo as Record<string, unknown> | undefined;
  for (const k of LLMO_OPTIONS) if (extra?.[k] !== undefined) (request as Record<string, unknown>)[k] = extra[k];
  return { request, warnings };
}

/** The AI SDK's standardized prompt → OpenAI-shaped chat messages (the model's chat template renders them). */
export function toMessages(prompt: LanguageModelV4Prompt): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of prompt) {
    if (m.role === 'system') {
      out.push({ role: 'system', content: m.content });
    } else if (m.role === 'user') {
      out.push({ role: 'user', content: m.content.map((p) => (p.type === 'text' ? p.text : unsupportedPart(p.type, p.mediaType))).join('') });
    } else if (m.role === 'assistant') {
      let text = '';
      const calls: NonNullable<ChatMessage['tool_calls']> = [];
      for (const p of m.content) {
        if (p.type === 'text') text += p.text;
        else if (p.type === 'tool-call') calls.push({ id: p.toolCallId, type: 'function', function: { name: p.toolName, arguments: typeof p.input === 'string' ? p.input : JSON.stringify(p.input) } });
        // Reasoning and provider-executed results are not fed back: the template has no place for them.
      }
      out.push({ role: 'assistant', content: calls.length && !text ? null : text, ...(calls.length ? { tool_calls: calls } : {}) });
    } else {
      for (const p of m.content) {
        if (p.type === 'tool-result') out.push({ role: 'tool', tool_call_id: p.toolCallId, name: p.toolName, content: toolOutput(p.output) });
      }
    }
  }
  return out;
}

function unsupportedPart(type: string, mediaType?: string): never {
  throw new InvalidRequestError(`llmo runs text models: a ${type} part${mediaType ? ` (${mediaType})` : ''} cannot be read; send text only.`);
}

function toolOutput(o: LanguageModelV4ToolResultOutput): string {
  switch (o.type) {
    case 'text':
    case 'error-text':
      return o.value;
    case 'json':
    case 'error-json':
      return JSON.stringify(o.value);
    case 'execution-denied':
      return `Execution denied${o.reason ? `: ${o.reason}` : '.'}`;
    case 'content':
      return o.value.map((v) => (v.type === 'text' ? v.text : '')).join('');
    default:
      return JSON.stringify(o);
  }
}

export function finishReason(r: FinishReason): LanguageModelV4FinishReason {
  return { unified: r === 'tool_calls' ? 'tool-calls' : r, raw: r };
}

/** Exact token counts from the engine; cached = prompt tokens whose KV was reused (previous turn, prefix cache). */
export function usageOf(u: Usage | undefined): LanguageModelV4Usage {
  if (!u) return { inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined }, outputTokens: { total: undefined, text: undefined, reasoning: undefined } };
  return {
    inputTokens: { total: u.prompt_tokens, noCache: u.prompt_tokens - u.cached_prompt_tokens, cacheRead: u.cached_prompt_tokens, cacheWrite: undefined },
    outputTokens: { total: u.completion_tokens, text: u.completion_tokens, reasoning: undefined },
    raw: { ...u },
  };
}

/** llmo's speed figures for one call, as `providerMetadata.llmo`. */
export function speedOf(u: Usage | undefined) {
  return u ? { llmo: { timeToFirstTokenMs: u.time_to_first_token_ms, prefillTokensPerSec: u.prefill_tokens_per_s, decodeTokensPerSec: u.decode_tokens_per_s } } : undefined;
}
