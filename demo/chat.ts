/**
 * One assistant reply through llmo's OpenAI-shaped chat API, streamed piece by piece, with the usage figures the
 * metrics panel shows.
 */
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

/** Streams one assistant reply; `onText` gets each new piece of text. */
export async function streamChat(
  engine: Engine,
  messages: ChatMessage[],
  s: ChatSettings,
  signal: AbortSignal,
  onText: (t: string) => void,
): Promise<ChatOutcome> {
  const stream = await engine.chat.completions.create({
    messages, stream: true, stream_options: { include_usage: true }, max_tokens: s.maxTokens, temperature: s.temperature,
    top_p: s.topP, signal,
  });
  const out: ChatOutcome = { finishReason: 'stop', promptTokens: 0, completionTokens: 0, timeToFirstTokenMs: 0, prefillTokensPerSec: 0, decodeTokensPerSec: 0 };
  // A stopped stream ends with AbortError and no usage: the page then reports what it saw itself.
  const t0 = performance.now();
  let first = 0;
  let last = 0;
  let pieces = 0;
  try {
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (c?.delta?.content) {
        last = performance.now();
        if (!pieces++) first = last;
        onText(c.delta.content);
      }
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
  } catch (e) {
    if (!signal.aborted) throw e;
    out.finishReason = 'abort';
    out.completionTokens = pieces; // one streamed piece per token
    out.timeToFirstTokenMs = pieces ? first - t0 : 0;
    out.decodeTokensPerSec = pieces > 1 ? ((pieces - 1) * 1000) / (last - first) : 0;
  }
  return out;
}
