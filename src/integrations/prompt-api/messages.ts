/**
 * The Prompt API's "validate and canonicalize a prompt" (webmachinelearning/prompt-api): a `LanguageModelPrompt`
 * (a string, or messages whose content is a string or typed parts) → OpenAI-shaped chat messages for the engine's
 * chat template. Errors are the DOMExceptions the specification names.
 */
import type { ChatMessage } from '../../api/types.ts';

export type PromptRole = 'system' | 'user' | 'assistant';
export interface PromptContent {
  type: 'text' | 'image' | 'audio' | 'tool-call' | 'tool-response';
  value: unknown;
}
export interface PromptMessage {
  role: PromptRole;
  content: string | PromptContent[];
  prefix?: boolean;
}
export type LanguageModelPrompt = string | PromptMessage[];

const ROLES = new Set(['system', 'user', 'assistant']);
const TYPES = new Set(['text', 'image', 'audio', 'tool-call', 'tool-response']);

export const domError = (name: string, message: string): DOMException => new DOMException(message, name);

/**
 * `hasAppendedInput`: the session already holds input, so a system message is misplaced (NotSupportedError, as the
 * IDL's note and Chrome say). Non-text parts are NotSupportedError: llmo runs text models.
 */
export function canonicalize(input: LanguageModelPrompt, hasAppendedInput: boolean): ChatMessage[] {
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  if (input === null || typeof input !== 'object' || typeof (input as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    // WebIDL converts anything else to a DOMString.
    return [{ role: 'user', content: String(input) }];
  }
  const list = [...input];
  if (list.length === 0) return [{ role: 'user', content: '' }];
  const out: ChatMessage[] = [];
  list.forEach((m, i) => {
    if (!m || typeof m !== 'object') throw new TypeError('Each prompt message must be an object { role, content }.');
    if (!ROLES.has(m.role)) throw new TypeError(`The role '${String(m.role)}' is not one of 'system', 'user', 'assistant'.`);
    if (m.content === undefined) throw new TypeError("A prompt message needs 'content'.");
    if (m.prefix) {
      if (m.role !== 'assistant') throw domError('SyntaxError', 'Only an assistant message can be a prefix.');
      if (i !== list.length - 1) throw domError('SyntaxError', 'A prefix message must be the last message.');
      throw domError('NotSupportedError', 'llmo does not continue a prefixed assistant message; send it without prefix: true.');
    }
    if (m.role === 'system' && hasAppendedInput) {
      throw domError('NotSupportedError', 'A system message must come first: pass it in initialPrompts when creating the session.');
    }
    out.push({ role: m.role, content: contentText(m) });
    hasAppendedInput = true;
  });
  return out;
}

function contentText(m: PromptMessage): string {
  if (typeof m.content === 'string') return m.content;
  if (typeof m.content !== 'object' || m.content === null) return String(m.content);
  let text = '';
  for (const part of m.content) {
    if (!part || typeof part !== 'object' || !TYPES.has(part.type)) throw new TypeError(`A content part's type must be one of ${[...TYPES].join(', ')}.`);
    if (part.type !== 'text') {
      throw domError('NotSupportedError', `llmo runs text models: a '${part.type}' part cannot be read${m.role === 'assistant' ? '' : ' (create the session without that expected input)'}.`);
    }
    if (typeof part.value !== 'string') throw new TypeError('A text part\'s value must be a string.');
    // Contiguous text parts are joined without a separator, as the specification says.
    text += part.value;
  }
  return text;
}

/** Expected input/output types llmo serves: text only. */
export function unsupportedTypes(expected: { type: string }[] | undefined): string[] {
  return (expected ?? []).map((e) => e?.type).filter((t) => t !== 'text');
}

/** BCP 47 tags as ECMA-402 canonicalizes them (throws RangeError on a malformed tag). */
export function canonicalLanguages(expected: { languages?: string[] }[] | undefined): void {
  for (const e of expected ?? []) if (e?.languages) e.languages = Intl.getCanonicalLocales(e.languages);
}
