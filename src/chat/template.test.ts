/**
 * Real chat templates (../shared/templates) against renderings written by hand from each model's documented prompt
 * format (model cards / tokenizer docs), not produced by running the templates.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderChat, type ChatMessage, type ToolDefinition } from './template.ts';
import { InvalidRequestError } from '../errors.ts';

const DIR = resolve(import.meta.dirname, '../../..', 'shared/templates');
const tpl = (name: string) => readFileSync(join(DIR, `${name}.jinja`), 'utf8');

const CHAT: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi!' },
  { role: 'assistant', content: 'Hello.' },
  { role: 'user', content: [{ type: 'text', text: '2+' }, { type: 'text', text: '2?' }] },
];
const NO_SYSTEM = CHAT.slice(1);

describe('chat templates render the documented formats', () => {
  test('Llama 3.2: BOS, header ids, <|eot_id|>, the date line (today by default, as transformers does)', () => {
    const t = tpl('meta-llama-Llama-3.2-3B-Instruct');
    const d = new Date();
    const today = `${String(d.getDate()).padStart(2, '0')} ${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getMonth()]} ${d.getFullYear()}`;
    expect(renderChat(t, CHAT, { bosToken: '<|begin_of_text|>' })).toContain(`Today Date: ${today}\n\n`);
    expect(renderChat(t, CHAT, { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', extra: { date_string: '26 Jul 2024' } })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n' +
        'Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });
  test('Qwen2.5: ChatML, with its default system prompt when none is given', () => {
    const t = tpl('Qwen-Qwen2.5-7B-Instruct');
    expect(renderChat(t, CHAT)).toBe(
      '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n' +
        '<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(renderChat(t, [{ role: 'user', content: 'Hi!' }])).toBe(
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n',
    );
  });
  test('Qwen2.5 with tools: signatures in <tools>, calls in <tool_call>, results in <tool_response>', () => {
    const tools: ToolDefinition[] = [{
      type: 'function',
      function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
    }];
    const msgs: ChatMessage[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '18C' },
    ];
    expect(renderChat(tpl('Qwen-Qwen2.5-7B-Instruct'), msgs, { tools })).toBe(
      '<|im_start|>system\nYou are terse.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n' +
        'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n' +
        '{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n' +
        '</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n' +
        '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\nWeather in Paris?<|im_end|>\n' +
        '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n' +
        '<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n<|im_start|>assistant\n',
    );
  });
  test('Qwen3: ChatML; enable_thinking=false adds an empty think block to the generation prompt', () => {
    const t = tpl('Qwen-Qwen3-0.6B');
    const base = '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n' +
      '<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n';
    expect(renderChat(t, CHAT)).toBe(base);
    expect(renderChat(t, CHAT, { extra: { enable_thinking: false } })).toBe(base + '<think>\n\n</think>\n\n');
  });
  test('SmolLM3 (no_think): metadata system block, empty think blocks on assistant turns', () => {
    expect(renderChat(tpl('HuggingFaceTB-SmolLM3-3B'), CHAT, { extra: { enable_thinking: false } })).toBe(
      '<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nReasoning Mode: /no_think\n\n' +
        '## Custom Instructions\n\nYou are terse.\n\n<|im_end|>\n' +
        '<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\nHello.<|im_end|>\n' +
        '<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n',
    );
  });
  test('Phi-3.5: <|system|>/<|user|>/<|assistant|> with <|end|>; EOS only without a generation prompt', () => {
    const t = tpl('microsoft-Phi-3.5-mini-instruct');
    expect(renderChat(t, CHAT, { eosToken: '<|endoftext|>' })).toBe(
      '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\n2+2?<|end|>\n<|assistant|>\n',
    );
    expect(renderChat(t, CHAT.slice(0, 3), { eosToken: '<|endoftext|>', addGenerationPrompt: false })).toBe(
      '<|system|>\nYou are terse.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\nHello.<|end|>\n<|endoftext|>',
    );
  });
  test('Gemma 2: BOS, <start_of_turn>user/model; the system message it refuses is folded into the first user turn', () => {
    const t = tpl('google-gemma-2-2b-it');
    expect(renderChat(t, NO_SYSTEM, { bosToken: '<bos>' })).toBe(
      '<bos><start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n' +
        '<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n',
    );
    // As Gemma 3's own template does: system text, a blank line, then the user's text.
    expect(renderChat(t, CHAT, { bosToken: '<bos>' })).toBe(
      '<bos><start_of_turn>user\nYou are terse.\n\nHi!<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n' +
        '<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n',
    );
    // Anything else the template refuses stays a typed error with its own message (roles must alternate).
    const err = (() => { try { renderChat(t, [CHAT[1], CHAT[0], CHAT[2]], { bosToken: '<bos>' }); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect((err as Error).message).toMatch(/alternate/);
  });
});
