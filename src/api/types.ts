/**
 * OpenAI-shaped request and response types for `engine.chat.completions.create` and `engine.completions.create`.
 * Field names follow OpenAI's API so that a page can swap a cloud client for llmo; llmo's additions are marked.
 */
import type { ChatMessage, ToolCall, ToolDefinition } from '../chat/template.ts';

export type { ChatMessage, ToolCall, ToolDefinition, ContentPart, Role } from '../chat/template.ts';

export interface SamplingRequest {
  /** Most tokens to generate (default: until end of turn or the context is full). */
  max_tokens?: number;
  /** Newer OpenAI name for max_tokens. */
  max_completion_tokens?: number;
  /** 0..2, default 1 (OpenAI's default); 0 = greedy. */
  temperature?: number;
  /** (0, 1], default 1 (off). */
  top_p?: number;
  /** llmo: keep the k most likely tokens (0 = off, default). */
  top_k?: number;
  /** llmo: drop tokens below min_p × the top probability (0 = off, default). */
  min_p?: number;
  /** llmo: HF-style repetition penalty over prompt and completion (> 0; 1 = off, default). */
  repetition_penalty?: number;
  /** -2..2: subtract count × this from each generated token's logit. */
  frequency_penalty?: number;
  /** -2..2: subtract this from the logit of every token generated so far. */
  presence_penalty?: number;
  /** Same seed and request → same tokens. */
  seed?: number;
  /**
   * llmo: speculative decoding (on by default when the engine was loaded with a draft model): `false`, `true`, or
   * `{ method: 'draft' | 'lookup', max_draft }` ('lookup': n-grams of the prompt, good for summaries and RAG answers).
   */
  speculative?: boolean | { method?: 'draft' | 'lookup'; max_draft?: number };
  /** llmo (as llama-server): LoRA adapters loaded with `engine.loadAdapter`, applied to this request with their scales. */
  lora?: { id: string; scale?: number }[];
  /** Generation stops before any of these strings (not returned). */
  stop?: string | string[] | null;
  /** Token id (as a string or number key) → bias added to its logit (-100..100). */
  logit_bias?: Record<string, number>;
  /** Only 1 is supported. */
  n?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  /** Aborts the request (queued, prefilling or decoding); the promise / iterator rejects with AbortError. */
  signal?: AbortSignal;
  /** llmo: what to do when the prompt does not fit the context: 'error' (default) or drop the oldest turns. */
  context_overflow?: 'error' | 'truncate';
  /** Ignored (one model per engine); accepted so OpenAI request objects pass unchanged. */
  model?: string;
  user?: string;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean | null; description?: string } };

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export interface ChatCompletionRequest extends SamplingRequest {
  messages: ChatMessage[];
  logprobs?: boolean;
  /** 0..20 alternatives per token (needs logprobs: true). */
  top_logprobs?: number;
  response_format?: ResponseFormat;
  tools?: ToolDefinition[];
  /** Default 'auto' when tools are given. 'required' or a named function constrain the output to a call. */
  tool_choice?: ToolChoice;
  /** llmo: a Jinja chat template to use instead of the model's. */
  chat_template?: string;
  /** llmo: citation markers enforced while decoding: a `[` may only open `[n]` for n in 1..sources (rag.ask `constrained`). */
  citation_markers?: { sources: number };
  /** llmo: extra template variables, e.g. `{ enable_thinking: false }`. */
  chat_template_kwargs?: Record<string, unknown>;
}

export interface CompletionRequest extends SamplingRequest {
  /** Raw prompt text (special-token strings are parsed as specials; BOS added as the model's tokenizer says), or token ids. */
  prompt: string | number[];
  /** Include this many alternatives per token (0..20) in `logprobs`. */
  logprobs?: number | null;
  /** Prepend the prompt to the returned text. */
  echo?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** llmo: from the call to the first generated token, ms. */
  time_to_first_token_ms: number;
  /** llmo: prompt tokens actually computed per second (reused tokens excluded). */
  prefill_tokens_per_s: number;
  /** llmo: generated tokens per second after the first. */
  decode_tokens_per_s: number;
  /** llmo: prompt tokens whose KV was reused (previous turn or prefix cache) instead of being computed. */
  cached_prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  /** llmo: set when the reply came from the response cache (engine.useResponseCache), not from the model. */
  response_cache?: { kind: 'exact' | 'semantic'; similarity: number; age_ms: number };
  /** llmo: speculative decoding's draft tokens proposed and accepted (when it ran). */
  speculative_tokens?: { drafted: number; accepted: number };
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprobEntry extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ToolCall[];
  refusal: null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: [{ index: 0; message: ChatCompletionMessage; logprobs: { content: TokenLogprobEntry[] } | null; finish_reason: FinishReason }];
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: [{
    index: 0;
    delta: { role?: 'assistant'; content?: string; tool_calls?: (ToolCall & { index: number })[] };
    logprobs: { content: TokenLogprobEntry[] } | null;
    finish_reason: FinishReason | null;
  }];
  /** On the last chunk (the one with a finish_reason). */
  usage?: Usage;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: [{
    index: 0;
    text: string;
    logprobs: { tokens: string[]; token_logprobs: number[]; top_logprobs: Record<string, number>[] | null; text_offset: number[] } | null;
    finish_reason: FinishReason;
  }];
  usage: Usage;
}

/** Streamed completions use the same shape, one piece of text per chunk; the last carries finish_reason and usage. */
export type CompletionChunk = Omit<Completion, 'choices' | 'usage'> & {
  choices: [{ index: 0; text: string; logprobs: Completion['choices'][0]['logprobs']; finish_reason: FinishReason | null }];
  usage?: Usage;
};
