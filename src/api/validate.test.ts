/** Request checks: every bad field is an InvalidRequestError naming the field and the allowed values. */
import { describe, expect, test } from 'vitest';
import { samplingOptions, checkMessages, checkTools, toolCallSchema } from './validate.ts';
import { InvalidRequestError } from '../errors.ts';
import type { ChatCompletionRequest } from './types.ts';

const opts = (r: object) => samplingOptions(r, 256, 1000);
const fails = (f: () => unknown, re: RegExp) => {
  let err: unknown;
  try { f(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(InvalidRequestError);
  expect((err as Error).message).toMatch(re);
};

describe('sampling fields', () => {
  test('OpenAI defaults and field mapping', () => {
    expect(opts({})).toMatchObject({ maxTokens: 256, temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, stop: [] });
    expect(opts({ max_tokens: 5, temperature: 0, top_p: 0.5, top_k: 3, min_p: 0.1, repetition_penalty: 1.2, frequency_penalty: -1, presence_penalty: 2, seed: 9, stop: 'x', logit_bias: { '7': -100 } }))
      .toMatchObject({ maxTokens: 5, temperature: 0, topP: 0.5, topK: 3, minP: 0.1, repetitionPenalty: 1.2, frequencyPenalty: -1, presencePenalty: 2, seed: 9, stop: ['x'], logitBias: { 7: -100 } });
    expect(opts({ max_completion_tokens: 7 }).maxTokens).toBe(7);
  });
  test('out-of-range values name the field and the range', () => {
    fails(() => opts({ temperature: 2.5 }), /temperature.*≤ 2/);
    fails(() => opts({ top_p: 0 }), /top_p.*> 0/);
    fails(() => opts({ top_k: 1.5 }), /top_k.*integer/);
    fails(() => opts({ min_p: -0.1 }), /min_p/);
    fails(() => opts({ repetition_penalty: 0 }), /repetition_penalty/);
    fails(() => opts({ frequency_penalty: 3 }), /frequency_penalty.*≤ 2/);
    fails(() => opts({ presence_penalty: -3 }), /presence_penalty/);
    fails(() => opts({ max_tokens: 256 }), /max_tokens.*≤ 255/);
    fails(() => opts({ max_tokens: 0 }), /max_tokens/);
    fails(() => opts({ seed: 0.5 }), /seed/);
    fails(() => opts({ stop: [''] }), /stop/);
    fails(() => opts({ logit_bias: { 5000: 1 } }), /token id from 0 to 999/);
    fails(() => opts({ logit_bias: { 5: 101 } }), /-100 to 100/);
    fails(() => opts({ n: 2 }), /^n is 2/);
    fails(() => opts({ context_overflow: 'drop' }), /context_overflow/);
  });
  test('speculative: boolean or { method, max_draft }', () => {
    expect(opts({}).speculative).toBeUndefined();
    expect(opts({ speculative: false }).speculative).toBe(false);
    expect(opts({ speculative: { method: 'lookup', max_draft: 4 } }).speculative).toEqual({ method: 'lookup', maxDraft: 4 });
    fails(() => opts({ speculative: { method: 'ngram' } }), /speculative.method.*'draft' or 'lookup'/);
    fails(() => opts({ speculative: { max_draft: 0 } }), /max_draft/);
    fails(() => opts({ speculative: 'yes' }), /speculative is "yes"/);
  });
});

describe('messages and tools', () => {
  test('roles and content', () => {
    checkMessages([{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [] }, { role: 'tool', content: 'r' }]);
    fails(() => checkMessages([]), /messages/);
    fails(() => checkMessages([{ role: 'bot', content: 'x' }]), /messages\[0\]\.role.*'system'/);
    fails(() => checkMessages([{ role: 'user', content: null }]), /messages\[0\]\.content/);
    fails(() => checkMessages([{ role: 'user', content: [{ type: 'image_url' }] }]), /text/);
  });
  const tool = (name: string) => ({ type: 'function' as const, function: { name, parameters: { type: 'object' } } });
  const req = (r: Partial<ChatCompletionRequest>) => ({ messages: [], ...r }) as ChatCompletionRequest;
  test('tool_choice plans', () => {
    expect(checkTools(req({})).mode).toBe('none');
    expect(checkTools(req({ tools: [tool('a')] })).mode).toBe('auto');
    expect(checkTools(req({ tools: [tool('a')], tool_choice: 'none' })).mode).toBe('none');
    const p = checkTools(req({ tools: [tool('a'), tool('b')], tool_choice: { type: 'function', function: { name: 'b' } } }));
    expect(p.mode).toBe('constrained');
    expect(p.allowed.map((t) => t.function.name)).toEqual(['b']);
    fails(() => checkTools(req({ tools: [tool('a')], tool_choice: { type: 'function', function: { name: 'zz' } } })), /one of the tools \(a\)/);
    fails(() => checkTools(req({ tools: [tool('bad name')] })), /tools\[0\]/);
    fails(() => checkTools(req({ tool_choice: 'required' })), /no tools/);
  });
  test('the call schema is {name, arguments} over the allowed tools', () => {
    expect(toolCallSchema([tool('a')])).toEqual({
      type: 'object', properties: { name: { const: 'a' }, arguments: { type: 'object' } }, required: ['name', 'arguments'], additionalProperties: false,
    });
    expect((toolCallSchema([tool('a'), tool('b')]) as { anyOf: unknown[] }).anyOf).toHaveLength(2);
  });
});

describe("tool_choice 'auto': calls recognised in free text", () => {
  const allowed = [{ type: 'function' as const, function: { name: 'get_weather' } }];
  test('Hermes/Qwen <tool_call> tags, bare JSON, Llama-style "parameters"; unknown names and prose are not calls', async () => {
    const { findCall } = await import('./openai.ts');
    expect(findCall('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', { allowed })).toEqual({ name: 'get_weather', arguments: { city: 'Paris' } });
    expect(findCall(' {"name": "get_weather", "parameters": {"city": "Oslo"}} ', { allowed })).toEqual({ name: 'get_weather', arguments: { city: 'Oslo' } });
    expect(findCall('{"name": "launch", "arguments": {}}', { allowed })).toBeUndefined();
    expect(findCall('It is sunny in Paris.', { allowed })).toBeUndefined();
  });
});
