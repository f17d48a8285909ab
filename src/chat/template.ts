/**
 * Chat messages → prompt text with the model's own Jinja chat template (`tokenizer.chat_template` in GGUF,
 * `chat_template` in tokenizer_config.json), rendered by @huggingface/jinja as transformers'
 * `apply_chat_template` does: variables `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools`,
 * plus any extra keyword arguments (e.g. `enable_thinking`).
 */
import { Template } from '@huggingface/jinja';
import { InvalidRequestError } from '../errors.ts';

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ContentPart {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: Role;
  content: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export interface RenderOptions {
  bosToken?: string;
  eosToken?: string;
  addGenerationPrompt?: boolean;
  tools?: ToolDefinition[];
  /** Extra template variables (transformers' `chat_template_kwargs`), e.g. `{ enable_thinking: false }`. */
  extra?: Record<string, unknown>;
}

/** Used when a model ships no template: ChatML, which most small instruct models were trained on. */
export const FALLBACK_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new InvalidRequestError(`The chat template does not parse (${(e as Error).message}); pass a working one as chat_template.`, { cause: e });
    }
    if (compiled.size > 16) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

/** Message text: content parts are joined; null content (an assistant turn with only tool calls) is ''. */
export function messageText(m: ChatMessage): string {
  if (m.content === null || m.content === undefined) return '';
  if (typeof m.content === 'string') return m.content;
  return m.content.map((p) => p.text).join('');
}

/**
 * Renders `messages` with `template`. Template errors (e.g. its own raise_exception) become InvalidRequestError.
 * A template that refuses a leading system message (Gemma 2: "System role not supported") gets it folded into the
 * first user turn instead, `system + "\n\n" + user`, as Gemma 3's own template does and common practice for Gemma.
 */
export function renderChat(template: string, messages: ChatMessage[], o: RenderOptions = {}): string {
  try {
    return renderOnce(template, messages, o);
  } catch (e) {
    const [first, second, ...rest] = messages;
    const isSystem = (m?: ChatMessage) => m?.role === 'system' || m?.role === 'developer';
    if (!isSystem(first) || second?.role !== 'user') throw e;
    let folded: string;
    try {
      folded = renderOnce(template, [{ ...second, content: `${messageText(first)}\n\n${messageText(second)}` }, ...rest], o);
    } catch {
      throw e; // not the system turn it refused: report the original error
    }
    return folded;
  }
}

function renderOnce(template: string, messages: ChatMessage[], o: RenderOptions): string {
  const t = compile(template);
  const msgs = messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role === 'developer' ? 'system' : m.role, content: messageText(m) };
    if (m.name !== undefined) out.name = m.name;
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.tool_calls) {
      // Templates expect arguments as a mapping (they `tojson` it), OpenAI sends a JSON string.
      out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: c.type, function: { name: c.function.name, arguments: parseArgs(c.function.arguments) } }));
    }
    return out;
  });
  const vars: Record<string, unknown> = {
    ...o.extra,
    messages: msgs,
    add_generation_prompt: o.addGenerationPrompt ?? true,
    bos_token: o.bosToken ?? '',
    eos_token: o.eosToken ?? '',
  };
  if (o.tools?.length) vars.tools = o.tools;
  try {
    return t.render(vars);
  } catch (e) {
    throw new InvalidRequestError(`The chat template rejected these messages: ${(e as Error).message}`, { cause: e });
  }
}

function parseArgs(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
