/**
 * Fits a conversation and its reply into the model's context, so the demo works with its defaults on small models
 * (sotu-5m has 256 tokens): the reply gets `maxTokens` or half the context, whichever is less, and the oldest turns
 * are left out until the rest fits. Token counts are exact (engine.tokenizeChat: the chat template, BOS and all).
 */
import type { Engine } from '../src/index.ts';
import type { ChatMessage } from './chat.ts';

export interface FittedChat {
  messages: ChatMessage[];
  /** max_tokens to ask for: never more than the context has left. */
  maxTokens: number;
  /** How many earlier messages were left out. */
  dropped: number;
}

/** `history` ends with the new user message; `system` (if any) is always kept. */
export async function fitChat(engine: Engine, system: string, history: ChatMessage[], maxTokens: number): Promise<FittedChat> {
  const ctx = engine.info.contextLength;
  const room = Math.max(1, Math.min(maxTokens, Math.floor(ctx / 2)));
  const withSystem = (h: ChatMessage[]): ChatMessage[] => (system ? [{ role: 'system', content: system }, ...h] : h);
  let start = 0;
  let promptTokens = (await engine.tokenizeChat({ messages: withSystem(history) })).length;
  // Drop whole turns from the front (a user message and the reply to it); the newest message always stays.
  while (promptTokens + room > ctx && start < history.length - 1) {
    start++;
    while (start < history.length - 1 && history[start].role !== 'user') start++;
    promptTokens = (await engine.tokenizeChat({ messages: withSystem(history.slice(start)) })).length;
  }
  // When even the newest message leaves less than `room`, the reply takes what is left (the engine refuses 0).
  return { messages: withSystem(history.slice(start)), maxTokens: Math.max(1, Math.min(maxTokens, ctx - promptTokens)), dropped: start };
}
