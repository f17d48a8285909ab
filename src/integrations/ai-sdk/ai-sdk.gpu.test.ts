/**
 * The AI SDK provider against the real `ai` package in Chromium/WebGPU, on sotu-5m (real weights, weak prose):
 * streamText/generateText give the engine's own tokens and usage, generateObject validates over several seeds
 * (the schema is a token mask, not an instruction), a tool call goes round trip, abort and warnings surface.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { embed, embedMany, generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { load, type Engine } from '../../index.ts';
import { createLlmo, type LlmoProvider } from './index.ts';
import { validates, type Schema } from '../../../test/json-schema-check.ts';

const SOTU = '/shared/models/sotu-5m/sotu-5m-q8_0.gguf';

let engine: Engine;
let llmo: LlmoProvider;
beforeAll(async () => {
  engine = await load(SOTU);
  llmo = createLlmo(engine);
});
afterAll(() => engine?.dispose());

const PROMPT = 'What is the state of the union?';

describe('llmo/ai-sdk language model', () => {
  test('streamText gives the same text, finish reason and token counts as the engine directly', async () => {
    const direct = await engine.chat.completions.create({ messages: [{ role: 'user', content: PROMPT }], max_tokens: 12, temperature: 0 });
    const r = streamText({ model: llmo(), prompt: PROMPT, maxOutputTokens: 12, temperature: 0 });
    let text = '';
    let deltas = 0;
    for await (const t of r.textStream) {
      text += t;
      deltas++;
    }
    expect(text).toBe(direct.choices[0].message.content);
    expect(deltas).toBeGreaterThan(1);
    const usage = await r.usage;
    expect(usage.inputTokens).toBe(direct.usage.prompt_tokens);
    expect(usage.outputTokens).toBe(direct.usage.completion_tokens);
    expect(await r.finishReason).toBe(direct.choices[0].finish_reason);
    // The repeated prompt's KV is reused: reported as cached input tokens.
    expect(usage.inputTokenDetails.cacheReadTokens).toBeGreaterThan(0);
    expect((await r.providerMetadata)?.llmo?.decodeTokensPerSec).toBeGreaterThan(0);
  });

  test('generateText with a seed equals the engine with that seed; system prompts and sampling settings pass through', async () => {
    const messages = [{ role: 'system' as const, content: 'You are the President.' }, { role: 'user' as const, content: PROMPT }];
    const direct = await engine.chat.completions.create({ messages, max_tokens: 10, temperature: 0.8, top_k: 40, top_p: 0.9, seed: 7 });
    const r = await generateText({ model: llmo(), instructions: 'You are the President.', prompt: PROMPT, maxOutputTokens: 10, temperature: 0.8, topK: 40, topP: 0.9, seed: 7 });
    expect(r.text).toBe(direct.choices[0].message.content);
    expect(r.usage.inputTokens).toBe(direct.usage.prompt_tokens);
    expect(r.finishReason).toBe('length');
    expect(r.warnings ?? []).toEqual([]);
  });

  test('generateObject output validates against the schema on every seed', async () => {
    const schema: Schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 16 }, year: { type: 'integer' }, topics: { type: 'array', items: { type: 'string', maxLength: 10 }, maxItems: 2 } },
      required: ['name', 'year', 'topics'],
      additionalProperties: false,
    };
    for (const seed of [1, 2, 3, 4]) {
      const r = await generateObject({ model: llmo(), schema: jsonSchema(schema), prompt: 'Describe one address to Congress.', seed, temperature: 1, maxOutputTokens: 60 });
      expect(validates(r.object, schema), JSON.stringify(r.object)).toBe(true);
    }
  });

  test('a tool call goes round trip: the call is parsed, executed, and its result fed back to the model', async () => {
    const calls: unknown[] = [];
    const r = await generateText({
      model: llmo(),
      prompt: 'What is the weather in Boston?',
      tools: {
        weather: tool({
          description: 'Weather in a city',
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string', maxLength: 20 } }, required: ['city'], additionalProperties: false }),
          execute: async (input) => {
            calls.push(input);
            return { tempC: 21 };
          },
        }),
      },
      // The first step must call (constrained), the second answers in text.
      prepareStep: ({ stepNumber }) => ({ toolChoice: stepNumber === 0 ? 'required' : 'none' }),
      stopWhen: stepCountIs(2),
      include: { requestBody: true },
      maxOutputTokens: 64,
      temperature: 0,
    });
    expect(r.steps).toHaveLength(2);
    const [first, second] = r.steps;
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls[0].toolName).toBe('weather');
    expect(typeof (first.toolCalls[0].input as { city: unknown }).city).toBe('string');
    expect(calls).toEqual([first.toolCalls[0].input]);
    expect(first.toolResults[0].output).toEqual({ tempC: 21 });
    const sent = (second.request.body as { messages: { role: string; content: unknown; tool_call_id?: string }[] }).messages;
    const toolMsg = sent.find((m) => m.role === 'tool');
    expect(toolMsg?.content).toBe('{"tempC":21}');
    expect(toolMsg?.tool_call_id).toBe(first.toolCalls[0].toolCallId);
    expect(sent.find((m) => m.role === 'assistant')).toMatchObject({ tool_calls: [{ id: first.toolCalls[0].toolCallId, function: { name: 'weather' } }] });
  });

  test('abort stops the stream; unsupported settings come back as warnings', async () => {
    const ac = new AbortController();
    let aborted = false;
    const r = streamText({ model: llmo(), prompt: PROMPT, maxOutputTokens: 200, abortSignal: ac.signal, onAbort: () => { aborted = true; } });
    let n = 0;
    for await (const _ of r.textStream) if (++n === 2) ac.abort();
    expect(aborted).toBe(true);
    expect(n).toBeLessThan(10);
    const w = await generateText({ model: llmo(), prompt: 'Hi', maxOutputTokens: 1, reasoning: 'high' });
    expect(w.warnings).toEqual([expect.objectContaining({ type: 'unsupported', feature: 'reasoning' })]);
  });

  test('a provider made from a source loads once, on first use, with download progress', async () => {
    const phases = new Set<string>();
    const lazy = createLlmo({ source: SOTU, onProgress: (p) => phases.add(p.phase) });
    expect(phases.size).toBe(0);
    const [a, b] = await Promise.all([
      generateText({ model: lazy(), prompt: PROMPT, maxOutputTokens: 4, temperature: 0 }),
      generateText({ model: lazy(), prompt: PROMPT, maxOutputTokens: 4, temperature: 0 }),
    ]);
    expect(a.text).toBe(b.text);
    expect(phases.has('ready')).toBe(true);
    const e1 = await lazy.engine();
    expect(await lazy.engine()).toBe(e1);
    await e1.dispose();
  });

  test('embedMany / embed on an encoder model: the engine\'s own vectors and token usage', async () => {
    const embedder = createLlmo({ source: '/encoder-fixtures/tiny~f32~s31~mean/model.gguf', cache: false, contextLength: 32 });
    const values = ['The union is strong.', 'The ship sailed.', 'Congress met.'];
    const r = await embedMany({ model: embedder.embeddingModel(), values });
    const e = await embedder.engine();
    const direct = await e.embed(values);
    expect(r.embeddings).toEqual(direct.map((v) => Array.from(v)));
    expect(r.usage.tokens).toBe((await e.embeddings.create({ input: values })).usage.prompt_tokens);
    const one = await embed({ model: embedder.embeddingModel(), value: values[1], providerOptions: {} });
    expect(one.embedding).toEqual(Array.from(direct[1]));
    await e.dispose();
  });

  test('a stream that runs to the end of the context completes, chunks without text (split characters) included', async () => {
    const small = await load(SOTU, { contextLength: 48 });
    try {
      const direct = await small.chat.completions.create({ messages: [{ role: 'user', content: PROMPT }], temperature: 0 });
      expect(direct.choices[0].finish_reason).toBe('length');
      let text = '';
      for await (const t of streamText({ model: createLlmo(small)(), prompt: PROMPT, temperature: 0 }).textStream) text += t;
      expect(text).toBe(direct.choices[0].message.content);
    } finally {
      await small.dispose();
    }
  });
});
