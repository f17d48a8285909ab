/**
 * TEMPORARY: the one place where the demo bridges API that other branches are adding right now (chat API, issue 4;
 * cache API, 'cache' progress and `hf:` sources, issue 5). The demo is written against the contracts in
 * notes/common.md; each function here uses the real API when it exists and a stand-in otherwise.
 * Delete this file after merging and call the APIs directly.
 */
import * as llmo from '../src/index.ts';
import type { Engine } from '../src/index.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatSettings {
  maxTokens: number;
  temperature: number;
  topP: number;
}

export interface ChatOutcome {
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSec: number;
  decodeTokensPerSec: number;
}

/** The contract's cache entry (issue 5). */
export interface CachedModel {
  key: string;
  url: string;
  files: string[];
  bytes: number;
  createdAt: number;
  lastUsedAt: number;
}

interface CacheApi {
  list(): Promise<CachedModel[]>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
  usage(): Promise<{ bytes: number; quota?: number; usage?: number }>;
}

interface ChatChunk {
  choices: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    time_to_first_token_ms?: number;
    prefill_tokens_per_s?: number;
    decode_tokens_per_s?: number;
  } | null;
}

interface ChatEngine {
  chat?: { completions: { create(req: Record<string, unknown>): Promise<AsyncIterable<ChatChunk>> } };
}

// Reflect.get: a plain `llmo.cache` is a missing-export warning at build time until issue 5 lands.
const cacheApi = Reflect.get(llmo, 'cache') as CacheApi | undefined;

/** The model cache, or undefined before issue 5's `cache` export exists. */
export const modelCache: CacheApi | undefined = cacheApi;

/**
 * `hf:owner/repo[@rev]/path` as `load()` accepts it once issue 5 lands; before that, the resolve URL on the hub.
 * (Issue 5 ships `hf:` and the cache together, so the cache export tells us which side of the merge we are on.)
 */
export function toLoadSource(source: string): string {
  if (cacheApi || !source.startsWith('hf:')) return source;
  const m = /^hf:([^/@]+\/[^/@]+)(?:@([^/]+))?\/(.+)$/.exec(source);
  if (!m) return source;
  return `https://huggingface.co/${m[1]}/resolve/${encodeURIComponent(m[2] ?? 'main')}/${m[3]}`;
}

/** Streams one assistant reply; `onText` gets each new piece of text. */
export async function streamChat(
  engine: Engine,
  messages: ChatMessage[],
  s: ChatSettings,
  signal: AbortSignal,
  onText: (t: string) => void,
): Promise<ChatOutcome> {
  const chat = (engine as unknown as ChatEngine).chat;
  if (chat) {
    const stream = await chat.completions.create({
      messages, stream: true, stream_options: { include_usage: true }, max_tokens: s.maxTokens, temperature: s.temperature,
      top_p: s.topP, signal,
    });
    const out: ChatOutcome = { finishReason: 'stop', promptTokens: 0, completionTokens: 0, timeToFirstTokenMs: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0 };
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta?.content) onText(c.delta.content);
      if (c?.finish_reason) out.finishReason = c.finish_reason;
      const u = chunk.usage;
      if (u) {
        out.promptTokens = u.prompt_tokens;
        out.completionTokens = u.completion_tokens;
        out.timeToFirstTokenMs = u.time_to_first_token_ms ?? 0;
        out.prefillTokensPerSec = u.prefill_tokens_per_s ?? 0;
        out.decodeTokensPerSec = u.decode_tokens_per_s ?? 0;
      }
    }
    if (signal.aborted) out.finishReason = 'abort';
    return out;
  }
  // Before issue 4: a plain "User: … / Assistant:" transcript through engine.generate.
  const prompt = messages
    .map((m) => (m.role === 'system' ? `${m.content}\n` : `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}\n`))
    .join('') + 'Assistant:';
  const stream = engine.generate(prompt, {
    maxTokens: s.maxTokens, temperature: s.temperature, topP: s.topP, topK: 0 /* off, as in the OpenAI-style request above */, stop: ['\nUser:'], signal,
  });
  for await (const c of stream) if (c.text) onText(c.text);
  const r = await stream.result;
  return {
    finishReason: r.finishReason,
    promptTokens: r.stats.promptTokens,
    completionTokens: r.stats.completionTokens,
    timeToFirstTokenMs: r.stats.timeToFirstTokenMs,
    prefillTokensPerSec: r.stats.prefillTokensPerSec,
    decodeTokensPerSec: r.stats.decodeTokensPerSec,
  };
}
