/**
 * Request checks: each bad field becomes an InvalidRequestError whose message names the field, the value and the
 * allowed range. Valid requests become llmo's GenerateOptions.
 */
import { InvalidRequestError } from '../errors.ts';
import type { GenerateOptions } from '../runtime/engine-types.ts';
import type { ChatCompletionRequest, SamplingRequest, ToolChoice } from './types.ts';
import type { ChatMessage, ToolDefinition } from '../chat/template.ts';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

function bad(field: string, value: unknown, want: string): never {
  throw new InvalidRequestError(`${field} is ${JSON.stringify(value)}; it must be ${want}.`);
}

function num(r: Record<string, unknown>, field: string, lo: number, hi: number, opts: { int?: boolean; openLo?: boolean } = {}): number | undefined {
  const v = r[field];
  if (v === undefined || v === null) return undefined;
  const range = `${opts.int ? 'an integer' : 'a number'} ${opts.openLo ? `> ${lo}` : `≥ ${lo}`}${hi < Infinity ? ` and ≤ ${hi}` : ''}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) bad(field, v, range);
  if ((opts.openLo ? v <= lo : v < lo) || v > hi) bad(field, v, range);
  return v;
}

/** Sampling fields → GenerateOptions (OpenAI defaults: temperature 1, top_p 1, no top-k). */
export function samplingOptions(req: SamplingRequest, contextLength: number, vocabSize: number): GenerateOptions {
  const r = req as unknown as Record<string, unknown>;
  if (req.n !== undefined && req.n !== 1) bad('n', req.n, '1 (one choice per request; send several requests for more)');
  const maxTokens = num(r, 'max_tokens', 1, contextLength - 1, { int: true }) ?? num(r, 'max_completion_tokens', 1, contextLength - 1, { int: true });
  const stop = req.stop === undefined || req.stop === null ? [] : typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s === '')) bad('stop', req.stop, 'a non-empty string or an array of them');
  let logitBias: Record<number, number> | undefined;
  if (req.logit_bias !== undefined && req.logit_bias !== null) {
    if (typeof req.logit_bias !== 'object') bad('logit_bias', req.logit_bias, 'an object mapping token ids to biases');
    logitBias = {};
    for (const [k, v] of Object.entries(req.logit_bias)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) bad(`logit_bias key "${k}"`, k, `a token id from 0 to ${vocabSize - 1}`);
      if (typeof v !== 'number' || !(v >= -100 && v <= 100)) bad(`logit_bias["${k}"]`, v, 'a number from -100 to 100');
      logitBias[id] = v;
    }
  }
  if (req.context_overflow !== undefined && req.context_overflow !== 'error' && req.context_overflow !== 'truncate') {
    bad('context_overflow', req.context_overflow, "'error' or 'truncate'");
  }
  return {
    maxTokens: maxTokens ?? contextLength,
    temperature: num(r, 'temperature', 0, 2) ?? 1,
    topP: num(r, 'top_p', 0, 1, { openLo: true }) ?? 1,
    topK: num(r, 'top_k', 0, Infinity, { int: true }) ?? 0,
    minP: num(r, 'min_p', 0, 1) ?? 0,
    repetitionPenalty: num(r, 'repetition_penalty', 0, Infinity, { openLo: true }) ?? 1,
    frequencyPenalty: num(r, 'frequency_penalty', -2, 2) ?? 0,
    presencePenalty: num(r, 'presence_penalty', -2, 2) ?? 0,
    seed: num(r, 'seed', -(2 ** 53), 2 ** 53, { int: true }),
    stop,
    logitBias,
    ...(req.speculative !== undefined ? { speculative: speculativeOption(req.speculative) } : {}),
    ...(req.lora !== undefined ? { lora: loraOption(req.lora) } : {}),
  };
}

/** llmo's `lora` field (llama-server's shape) → GenerateOptions.lora; whether the ids are loaded is the engine's check. */
function loraOption(v: unknown): GenerateOptions['lora'] {
  if (!Array.isArray(v)) bad('lora', v, 'an array of { id, scale }');
  return v.map((e: unknown, i) => {
    if (!e || typeof e !== 'object' || typeof (e as { id?: unknown }).id !== 'string') bad(`lora[${i}]`, e, '{ id: string, scale?: number }');
    const scale = num(e as Record<string, unknown>, 'scale', -Infinity, Infinity);
    return { id: (e as { id: string }).id, ...(scale !== undefined ? { scale } : {}) };
  });
}

/** llmo's `speculative` field → GenerateOptions.speculative. */
function speculativeOption(v: unknown): GenerateOptions['speculative'] {
  if (typeof v === 'boolean') return v;
  const want = "true, false or { method: 'draft' | 'lookup', max_draft: 1..32 }";
  if (!v || typeof v !== 'object') bad('speculative', v, want);
  const o = v as Record<string, unknown>;
  if (o.method !== undefined && o.method !== 'draft' && o.method !== 'lookup') bad('speculative.method', o.method, "'draft' or 'lookup'");
  const maxDraft = num(o, 'max_draft', 1, 32, { int: true });
  return { ...(o.method ? { method: o.method as 'draft' | 'lookup' } : {}), ...(maxDraft ? { maxDraft } : {}) };
}

export function checkMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) bad('messages', messages, 'a non-empty array of { role, content }');
  messages.forEach((m: unknown, i) => {
    if (!m || typeof m !== 'object') bad(`messages[${i}]`, m, 'an object { role, content }');
    const { role, content, tool_calls } = m as ChatMessage;
    if (!ROLES.has(role)) bad(`messages[${i}].role`, role, "one of 'system', 'developer', 'user', 'assistant', 'tool'");
    const okContent = typeof content === 'string' ||
      (Array.isArray(content) && content.every((p) => p && p.type === 'text' && typeof p.text === 'string')) ||
      ((content === null || content === undefined) && role === 'assistant' && Array.isArray(tool_calls));
    if (!okContent) bad(`messages[${i}].content`, content, "a string or an array of { type: 'text', text } parts (null only for an assistant turn with tool_calls)");
  });
}

export interface ToolPlan {
  tools: ToolDefinition[];
  /** 'constrained': the output is forced to be a call; 'auto': calls are recognised in free text; 'none'. */
  mode: 'none' | 'auto' | 'constrained';
  /** Tools the constrained call may name. */
  allowed: ToolDefinition[];
}

export function checkTools(req: ChatCompletionRequest): ToolPlan {
  const tools = req.tools ?? [];
  if (!Array.isArray(tools)) bad('tools', tools, 'an array of { type: "function", function: { name, parameters } }');
  tools.forEach((t, i) => {
    if (!t || t.type !== 'function' || !t.function || typeof t.function.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(t.function.name)) {
      bad(`tools[${i}]`, t, 'a { type: "function", function: { name } } whose name is 1-64 letters, digits, _ or -');
    }
    const p = t.function.parameters;
    if (p !== undefined && (typeof p !== 'object' || p === null || Array.isArray(p))) bad(`tools[${i}].function.parameters`, p, 'a JSON schema object');
  });
  const choice: ToolChoice = req.tool_choice ?? (tools.length ? 'auto' : 'none');
  if (tools.length === 0) {
    if (choice !== 'none' && req.tool_choice !== undefined) bad('tool_choice', choice, "'none' when no tools are given (add tools to call them)");
    return { tools, mode: 'none', allowed: [] };
  }
  if (choice === 'none') return { tools, mode: 'none', allowed: [] };
  if (choice === 'auto') return { tools, mode: 'auto', allowed: tools };
  if (choice === 'required') return { tools, mode: 'constrained', allowed: tools };
  if (typeof choice === 'object' && choice.type === 'function' && typeof choice.function?.name === 'string') {
    const t = tools.find((x) => x.function.name === choice.function.name);
    if (!t) bad('tool_choice.function.name', choice.function.name, `the name of one of the tools (${tools.map((x) => x.function.name).join(', ')})`);
    return { tools, mode: 'constrained', allowed: [t] };
  }
  return bad('tool_choice', choice, "'none', 'auto', 'required' or { type: 'function', function: { name } }");
}

/** The schema of one call: `{"name": <one of the tools>, "arguments": <its parameters>}`. */
export function toolCallSchema(allowed: ToolDefinition[]): Record<string, unknown> {
  const one = (t: ToolDefinition) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, arguments: t.function.parameters ?? { type: 'object' } },
    required: ['name', 'arguments'],
    additionalProperties: false,
  });
  return allowed.length === 1 ? one(allowed[0]) : { anyOf: allowed.map(one) };
}
