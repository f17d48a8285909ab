/**
 * The official `openai` client over `openaiFetch(engine)` in Chromium/WebGPU on sotu-5m: chat (streamed and not),
 * completions, models, errors with OpenAI's statuses, abort; every answer equals the engine's own for the same request.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import OpenAI from 'openai';
import { load, openaiFetch, type Engine } from '../index.ts';

const SOTU = '/shared/models/sotu-5m/sotu-5m-q8_0.gguf';

let engine: Engine;
let client: OpenAI;
beforeAll(async () => {
  engine = await load(SOTU);
  client = new OpenAI({ fetch: openaiFetch(engine), apiKey: 'local', dangerouslyAllowBrowser: true, baseURL: 'https://llmo.invalid/v1' });
});
afterAll(() => engine?.dispose());

const messages = [{ role: 'user' as const, content: 'What is the state of the union?' }];

describe('openaiFetch with the openai client', () => {
  test('chat, not streamed: the engine\'s own completion', async () => {
    const direct = await engine.chat.completions.create({ messages, max_tokens: 8, temperature: 0.7, seed: 3 });
    const r = await client.chat.completions.create({ model: 'any', messages, max_tokens: 8, temperature: 0.7, seed: 3 });
    expect(r.choices[0].message.content).toBe(direct.choices[0].message.content);
    expect(r.choices[0].finish_reason).toBe(direct.choices[0].finish_reason);
    expect(r.usage?.prompt_tokens).toBe(direct.usage.prompt_tokens);
    expect(r.object).toBe('chat.completion');
  });

  test('chat, streamed as server-sent events: the same text, then finish_reason and usage', async () => {
    const direct = await engine.chat.completions.create({ messages, max_tokens: 8, temperature: 0 });
    const s = await client.chat.completions.create({ model: 'any', messages, max_tokens: 8, temperature: 0, stream: true });
    let text = '';
    let n = 0;
    let last: OpenAI.Chat.Completions.ChatCompletionChunk | undefined;
    for await (const c of s) {
      text += c.choices[0]?.delta.content ?? '';
      last = c;
      n++;
    }
    expect(text).toBe(direct.choices[0].message.content);
    expect(n).toBeGreaterThan(2);
    expect(last?.choices[0].finish_reason).toBe(direct.choices[0].finish_reason);
    expect(last?.usage?.completion_tokens).toBe(direct.usage.completion_tokens);
  });

  test('completions (streamed and not) and models', async () => {
    const direct = await engine.completions.create({ prompt: 'The Congress', max_tokens: 6, temperature: 0 });
    const r = await client.completions.create({ model: 'any', prompt: 'The Congress', max_tokens: 6, temperature: 0 });
    expect(r.choices[0].text).toBe(direct.choices[0].text);
    let streamed = '';
    for await (const c of await client.completions.create({ model: 'any', prompt: 'The Congress', max_tokens: 6, temperature: 0, stream: true })) streamed += c.choices[0].text;
    expect(streamed).toBe(direct.choices[0].text);
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual([engine.info.name]);
    expect((await client.models.retrieve(engine.info.name)).id).toBe(engine.info.name);
  });

  test('JSON schema and tools pass through to the engine', async () => {
    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'], additionalProperties: false };
    const r = await client.chat.completions.create({ model: 'any', messages, max_tokens: 20, response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } });
    expect(Number.isInteger(JSON.parse(r.choices[0].message.content!).n)).toBe(true);
    const t = await client.chat.completions.create({
      model: 'any', messages, max_tokens: 40, temperature: 0, tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string', maxLength: 10 } }, required: ['q'] } } }],
    });
    expect(t.choices[0].finish_reason).toBe('tool_calls');
    const call = t.choices[0].message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe('lookup');
    expect(typeof JSON.parse(call.function.arguments).q).toBe('string');
  });

  test('llmo errors arrive as OpenAI API errors with their status; an abort ends the request', async () => {
    const long = 'word '.repeat(400);
    const e = await client.chat.completions.create({ model: 'any', messages: [{ role: 'user', content: long }] }).catch((x) => x);
    expect(e).toBeInstanceOf(OpenAI.BadRequestError);
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/context/);
    const se = await client.chat.completions.create({ model: 'any', messages, stream: true, temperature: 5 }).catch((x) => x);
    expect(se).toBeInstanceOf(OpenAI.BadRequestError);
    const ac = new AbortController();
    const s = await client.chat.completions.create({ model: 'any', messages, max_tokens: 200, stream: true }, { signal: ac.signal });
    let n = 0;
    // The openai client ends a stream quietly when its own signal aborts it.
    for await (const _ of s) if (++n === 2) ac.abort();
    expect(n).toBeLessThan(10);
    const ac2 = new AbortController();
    const pending = client.chat.completions.create({ model: 'any', messages, max_tokens: 200 }, { signal: ac2.signal });
    setTimeout(() => ac2.abort(), 50);
    expect(await pending.catch((x) => x)).toBeInstanceOf(OpenAI.APIUserAbortError);
    // The engine is free again right away.
    const after = await client.chat.completions.create({ model: 'any', messages, max_tokens: 2 });
    expect(after.usage?.completion_tokens).toBeGreaterThan(0);
    // A chat model has no embeddings: the engine's UnsupportedModelError as a 400.
    const nf = await client.embeddings.create({ model: 'any', input: 'x' }).catch((x) => x);
    expect(nf).toBeInstanceOf(OpenAI.BadRequestError);
  });

  test('embeddings from an encoder model: the engine\'s vectors (the client asks for base64 and decodes it)', async () => {
    const embedder = await load('/encoder-fixtures/tiny~f32~s31~mean/model.gguf', { cache: false, contextLength: 32 });
    try {
      const c = new OpenAI({ fetch: openaiFetch(embedder), apiKey: 'local', dangerouslyAllowBrowser: true });
      const input = ['The union is strong.', 'The ship sailed.'];
      const r = await c.embeddings.create({ model: 'any', input });
      const direct = await embedder.embed(input);
      expect(r.data.map((d) => d.embedding)).toEqual(direct.map((v) => Array.from(v)));
      expect(r.usage.prompt_tokens).toBe((await embedder.embeddings.create({ input })).usage.prompt_tokens);
      const d = await c.embeddings.create({ model: 'any', input: input[0], dimensions: 16, encoding_format: 'float' });
      expect(d.data[0].embedding).toHaveLength(16);
    } finally {
      await embedder.dispose();
    }
  });
});
