/**
 * The OpenAI-shaped API in real Chromium/WebGPU on sotu-5m (real weights, `User: … / Assistant:` template) and a
 * random-weight qwen2 fixture (ChatML, <|im_end|> ends a turn).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  load, AbortError, ContextOverflowError, InvalidRequestError, UnsupportedSchemaError,
  type Engine, type ChatCompletionChunk, type ChatMessage,
} from '../index.ts';
import { renderChat } from '../chat/template.ts';
import { logSoftmax } from '../runtime/sampler.ts';
import { validates, type Schema } from '../../test/json-schema-check.ts';

const SOTU = '/shared/models/sotu-5m/sotu-5m-q8_0.gguf';
const FIXTURE = '/fixtures/tiny~qwen2~f32~s1/model.gguf';

let sotu: Engine;
let fix: Engine;
let fixCold: Engine;
beforeAll(async () => {
  [sotu, fix, fixCold] = await Promise.all([
    load(SOTU),
    load(FIXTURE, { maxBatch: 16 }),
    load(FIXTURE, { maxBatch: 16, prefixCacheBytes: 0 }),
  ]);
});
afterAll(async () => {
  await Promise.all([sotu?.dispose(), fix?.dispose(), fixCold?.dispose()]);
});

const ask = (content: string): ChatMessage[] => [{ role: 'user', content }];

async function collect(s: AsyncIterable<ChatCompletionChunk>) {
  let text = '';
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of s) {
    chunks.push(c);
    text += c.choices[0].delta.content ?? '';
  }
  return { text, chunks };
}

describe('chat.completions on sotu-5m', () => {
  test('the GGUF chat template is used, BOS added once, and the result equals a raw completion of the rendering', async () => {
    expect(sotu.info.chatTemplate).toMatch(/Assistant:/);
    const messages = ask('What is the state of the union?');
    const r = await sotu.chat.completions.create({ messages, max_tokens: 4, temperature: 0 });
    const rendered = renderChat(sotu.info.chatTemplate!, messages, { bosToken: '<s>', eosToken: '</s>' });
    // The template writes bos_token itself: it becomes the BOS id, and no second BOS is added.
    const ids = await sotu.tokenize(rendered, { addBos: false });
    expect(ids.filter((t) => t === sotu.info.bosId)).toHaveLength(1);
    expect(ids[0]).toBe(sotu.info.bosId);
    expect(r.usage.prompt_tokens).toBe(ids.length);
    const raw = await sotu.completions.create({ prompt: ids, max_tokens: 4, temperature: 0 });
    expect(r.choices[0].message.content).toBe(raw.choices[0].text);
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(['stop', 'length']).toContain(r.choices[0].finish_reason);
    const u = r.usage;
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    expect(u.completion_tokens).toBeGreaterThan(0);
    expect(u.time_to_first_token_ms).toBeGreaterThan(0);
    expect(u.decode_tokens_per_s).toBeGreaterThan(0);
    // A caller's template without bos_token: BOS is added, as the model's tokenizer asks.
    const own = await sotu.chat.completions.create({ messages, max_tokens: 1, temperature: 0, chat_template: '{% for m in messages %}Q: {{ m.content }}\n{% endfor %}A:' });
    expect(own.usage.prompt_tokens).toBe((await sotu.tokenize('Q: What is the state of the union?\nA:')).length);
  });

  test('streaming gives the same text as non-streaming; the last chunk has finish_reason and usage', async () => {
    const req = { messages: ask('Tell me about the Congress.'), max_tokens: 6, temperature: 0.9, seed: 42 };
    const whole = await sotu.chat.completions.create(req);
    const { text, chunks } = await collect(sotu.chat.completions.create({ ...req, stream: true }));
    expect(text).toBe(whole.choices[0].message.content);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const last = chunks[chunks.length - 1];
    expect(last.choices[0].finish_reason).toBe(whole.choices[0].finish_reason);
    expect(last.usage?.completion_tokens).toBe(whole.usage.completion_tokens);
    expect(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
  });

  test('bad requests are typed errors that say what to change', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e) => e as Error);
    const e1 = await err(sotu.chat.completions.create({ messages: [{ role: 'wizard' as 'user', content: 'hi' }] }));
    expect(e1).toBeInstanceOf(InvalidRequestError);
    expect(e1!.message).toMatch(/role.*'system'/);
    const e2 = await err(sotu.chat.completions.create({ messages: ask('hi'), max_tokens: 100000 }));
    expect(e2).toBeInstanceOf(InvalidRequestError);
    expect(e2!.message).toMatch(/max_tokens/);
    const e3 = await err(sotu.chat.completions.create({ messages: ask('hi'), temperature: 3 }));
    expect(e3!.message).toMatch(/temperature.*≤ 2/);
    const e4 = await err(sotu.chat.completions.create({
      messages: ask('hi'), response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } },
    }));
    expect(e4).toBeInstanceOf(UnsupportedSchemaError);
    expect((e4 as UnsupportedSchemaError).keywords).toEqual(['#/pattern']);
    const long = ask('taxes '.repeat(400));
    const e5 = await err(sotu.chat.completions.create({ messages: long }));
    const e6 = await err(sotu.chat.completions.create({ messages: ask('hi'), max_tokens: sotu.info.contextLength - 3 }));
    expect(e6).toBeInstanceOf(ContextOverflowError);
    expect(e6!.message).toMatch(/lower max_tokens/);
    expect(e5).toBeInstanceOf(ContextOverflowError);
    expect(e5!.message).toMatch(/truncate/);
  });

});

describe('chat.completions on a random-weight ChatML fixture', () => {
  test('a seed reproduces a sampled completion; another seed (almost surely) does not', async () => {
    const req = { messages: ask('The war'), max_tokens: 16, temperature: 1, top_k: 0, seed: 7 };
    const a = await fix.chat.completions.create(req);
    const b = await fix.chat.completions.create(req);
    const c = await fix.chat.completions.create({ ...req, seed: 8 });
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    expect(c.choices[0].message.content).not.toBe(a.choices[0].message.content);
  });

  test('two concurrent requests are queued, not interleaved: each gives the tokens it gives alone', async () => {
    const r1 = { prompt: 'Fellow citizens of the Senate', max_tokens: 12, temperature: 0 };
    const r2 = { prompt: 'The whale swam', max_tokens: 12, temperature: 0 };
    const alone1 = await fix.completions.create(r1);
    const alone2 = await fix.completions.create(r2);
    const [c1, c2] = await Promise.all([fix.completions.create(r1), fix.completions.create(r2)]);
    expect(c1.choices[0].text).toBe(alone1.choices[0].text);
    expect(c2.choices[0].text).toBe(alone2.choices[0].text);
  });

  test("context_overflow 'truncate' drops the oldest turns and keeps the system prompt", async () => {
    const msgs: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }];
    for (let i = 0; i < 6; i++) msgs.push({ role: 'user', content: `Question ${i} about the budget of the nation and the army.` }, { role: 'assistant', content: 'The budget is balanced and the army is ready.' });
    msgs.push({ role: 'user', content: 'Last question?' });
    const count = async (m: ChatMessage[]) => (await fix.tokenize(renderChat(fix.info.chatTemplate!, m))).length;
    expect(await count(msgs)).toBeGreaterThan(fix.info.contextLength);
    const err = await fix.chat.completions.create({ messages: msgs, max_tokens: 4 }).catch((e) => e);
    expect(err).toBeInstanceOf(ContextOverflowError);
    const r = await fix.chat.completions.create({ messages: msgs, max_tokens: 4, temperature: 0, context_overflow: 'truncate' });
    expect(r.usage.prompt_tokens + 4).toBeLessThanOrEqual(fix.info.contextLength);
    // The kept part is the system prompt plus the newest turns that fit: exactly what dropping pairs from the front gives.
    let kept = msgs;
    while ((await count(kept)) + 4 > fix.info.contextLength) kept = [kept[0], ...kept.slice(3)];
    expect(r.usage.prompt_tokens).toBe(await count(kept));
  });
  test('a follow-up turn prefills only the new tokens and gives the tokens of a cold run', async () => {
    const turn1: ChatMessage[] = ask('What should the Congress do about taxes this year?');
    const a1 = await fix.chat.completions.create({ messages: turn1, max_tokens: 6, temperature: 0 });
    const turn2: ChatMessage[] = [...turn1, { role: 'assistant', content: a1.choices[0].message.content }, { role: 'user', content: 'And the navy?' }];
    const warm = await fix.chat.completions.create({ messages: turn2, max_tokens: 6, temperature: 0 });
    await fixCold.completions.create({ prompt: [5, 6], max_tokens: 1 }); // nothing useful in cold's cache
    const coldRun = await fixCold.chat.completions.create({ messages: turn2, max_tokens: 6, temperature: 0 });
    expect(warm.usage.cached_prompt_tokens).toBeGreaterThanOrEqual(a1.usage.prompt_tokens - 1);
    expect(coldRun.usage.cached_prompt_tokens).toBeLessThanOrEqual(1);
    expect(warm.choices[0].message.content).toBe(coldRun.choices[0].message.content);
  });

  test('the prefix cache serves a second conversation with the same long system prompt', async () => {
    const system = { role: 'system' as const, content: 'You are the clerk of the House of Representatives. Answer in the plain style of an annual message to Congress, briefly.' };
    await fix.chat.completions.create({ messages: [system, ...ask('Who sits in the House?')], max_tokens: 1, temperature: 0 });
    await fix.completions.create({ prompt: 'Call me Ishmael.', max_tokens: 1, temperature: 0 }); // the live cache now holds something else
    const second: ChatMessage[] = [system, ...ask('What of the treasury?')];
    const warm = await fix.chat.completions.create({ messages: second, max_tokens: 6, temperature: 0 });
    const sysTokens = (await fix.tokenize(renderChat(fix.info.chatTemplate!, [system], { addGenerationPrompt: false }))).length;
    expect(warm.usage.cached_prompt_tokens).toBeGreaterThanOrEqual(sysTokens - 2);
    const coldRun = await fixCold.chat.completions.create({ messages: second, max_tokens: 6, temperature: 0 });
    expect(warm.choices[0].message.content).toBe(coldRun.choices[0].message.content);
  });

  test('the prefix cache lives in an arena sized at load and evicts the least recently used prompt', async () => {
    const a = 'Call me Ishmael. Some years ago';
    const b = 'Mr. Speaker, the union is strong';
    const a2 = a + ' and';
    const a3 = a2 + ' so';
    const len = async (t: string) => (await fixCold.tokenize(t)).length;
    const [na, nb, na2] = [await len(a), await len(b), await len(a2)];
    const slots = Math.max(na2, nb) + 2;
    expect(Math.min(na, nb)).toBeGreaterThanOrEqual(16); // long enough to be stored
    expect(na + nb).toBeGreaterThan(slots); // but the two cannot be held at once
    const c = fix.info.config;
    const perToken = 2 * c.nLayers * c.nKvHeads * c.headDim * 4;
    const e = await load(FIXTURE, { maxBatch: 16, prefixCacheBytes: perToken * slots });
    try {
      expect(e.info.memory.cacheBytes - fixCold.info.memory.cacheBytes).toBe(perToken * slots);
      const run = (p: string) => e.complete(p, { maxTokens: 4, temperature: 0 });
      const cold = async (p: string) => (await fixCold.complete(p, { maxTokens: 4, temperature: 0 })).tokens;
      expect((await run(a)).stats.prefixCachedTokens).toBe(0);
      expect((await run(b)).stats.prefixCachedTokens).toBe(0); // stored; a evicted to make room
      const evicted = await run(a2);
      expect(evicted.stats.prefixCachedTokens).toBe(0);
      expect(evicted.tokens).toEqual(await cold(a2));
      await run('Short.'); // under 16 tokens: recomputed, never stored; the live cache now holds it
      const hit = await run(a3);
      expect(hit.stats.prefixCachedTokens).toBeGreaterThanOrEqual(na2 - 1);
      expect(hit.tokens).toEqual(await cold(a3));
    } finally {
      await e.dispose();
    }
  });

  test('a chat template passed at load replaces the model\'s', async () => {
    const e = await load(FIXTURE, { chatTemplate: '{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}' });
    try {
      expect(e.info.chatTemplate).toMatch(/^\{% for m/);
      const r = await e.chat.completions.create({ messages: ask('hi'), max_tokens: 1, temperature: 0 });
      expect(r.usage.prompt_tokens).toBe((await e.tokenize('<|im_start|>hi')).length);
    } finally {
      await e.dispose();
    }
  });

  test('the end-of-turn token <|im_end|> stops generation', async () => {
    const imEnd = (await fix.tokenize('<|im_end|>', { addBos: false }))[0];
    expect(fix.info.eosIds).toContain(imEnd);
    const r = await fix.chat.completions.create({ messages: ask('Hello'), max_tokens: 10, temperature: 0, logit_bias: { [imEnd]: 100 } });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].message.content).toBe('');
    expect(r.usage.completion_tokens).toBe(0);
  });

  test('top_logprobs match log-softmax of engine.logits() at every step', async () => {
    const messages = ask('The capital of France');
    const r = await fix.chat.completions.create({ messages, max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
    const prompt = await fix.tokenize(renderChat(fix.info.chatTemplate!, messages));
    const gen = await fix.tokenize(r.choices[0].message.content!, { addBos: false });
    const entries = r.choices[0].logprobs!.content;
    expect(entries).toHaveLength(r.usage.completion_tokens);
    // Token strings need not re-tokenize identically, so walk ids: the chosen token is the argmax (greedy).
    let ids = prompt.slice();
    for (const e of entries) {
      const ls = logSoftmax(await fix.logits(ids));
      const order = [...ls.keys()].sort((a, b) => ls[b] - ls[a]);
      expect(e.logprob).toBeCloseTo(ls[order[0]], 3);
      e.top_logprobs.forEach((t, j) => expect(t.logprob).toBeCloseTo(ls[order[j]], 3));
      expect(e.top_logprobs[0].token).toBe(e.token);
      ids = [...ids, order[0]];
    }
    expect(gen.length).toBeGreaterThan(0);
  });

  const SCHEMA: Schema = {
    type: 'object',
    properties: {
      city: { type: 'string', maxLength: 10 },
      population: { type: 'integer' },
      coastal: { type: 'boolean' },
      tags: { type: 'array', items: { enum: ['old', 'new', 7] }, maxItems: 3 },
      mayor: { anyOf: [{ type: 'null' }, { type: 'object', properties: { name: { type: 'string', maxLength: 8 } }, required: ['name'] }] },
    },
    required: ['city', 'population', 'coastal'],
    additionalProperties: false,
  };

  test('json_schema output always parses and validates (random weights: the constraint alone guarantees it)', async () => {
    for (let seed = 1; seed <= 4; seed++) {
      const r = await fix.chat.completions.create({
        messages: ask('Describe a city as JSON.'), max_tokens: 80, temperature: 1.2, seed,
        response_format: { type: 'json_schema', json_schema: { name: 'city', schema: SCHEMA, strict: true } },
      });
      const text = r.choices[0].message.content!;
      expect(r.choices[0].finish_reason, text).toBe('stop');
      expect(validates(JSON.parse(text), SCHEMA), text).toBe(true);
    }
  });

  test('json_object mode returns an object that parses', async () => {
    const r = await fix.chat.completions.create({ messages: ask('Give me JSON.'), max_tokens: 40, temperature: 0.8, seed: 3, response_format: { type: 'json_object' } });
    expect(r.choices[0].finish_reason).toBe('stop');
    const v = JSON.parse(r.choices[0].message.content!);
    expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
  });

  test('a max_tokens too small for any valid output is refused up front', async () => {
    const e = await fix.chat.completions.create({
      messages: ask('JSON'), max_tokens: 20, response_format: { type: 'json_schema', json_schema: { name: 'city', schema: SCHEMA } },
    }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.message).toMatch(/raise max_tokens/);
  });

  test('a tight max_tokens still closes the JSON in time', async () => {
    const r = await fix.chat.completions.create({
      messages: ask('JSON'), max_tokens: 45, temperature: 1.5, seed: 9,
      response_format: { type: 'json_schema', json_schema: { name: 'city', schema: SCHEMA } },
    });
    expect(r.usage.completion_tokens).toBeLessThanOrEqual(45);
    expect(validates(JSON.parse(r.choices[0].message.content!), SCHEMA)).toBe(true);
  });

  test('tool_choice required → an OpenAI tool call whose arguments validate', async () => {
    const params: Schema = { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer' } }, required: ['city', 'days'] };
    const tools = [
      { type: 'function' as const, function: { name: 'get_weather', parameters: params } },
      { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { enum: ['UTC', 'CET'] } }, required: ['tz'] } } },
    ];
    for (let seed = 1; seed <= 2; seed++) {
      const r = await fix.chat.completions.create({ messages: ask('Weather?'), tools, tool_choice: 'required', max_tokens: 60, temperature: 1, seed });
      const c = r.choices[0];
      expect(c.finish_reason).toBe('tool_calls');
      expect(c.message.content).toBeNull();
      const call = c.message.tool_calls![0];
      expect(call.type).toBe('function');
      const tool = tools.find((t) => t.function.name === call.function.name)!;
      expect(validates(JSON.parse(call.function.arguments), tool.function.parameters as Schema)).toBe(true);
    }
    const named = await fix.chat.completions.create({ messages: ask('Time?'), tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 60, temperature: 1, seed: 4 });
    expect(named.choices[0].message.tool_calls![0].function.name).toBe('get_time');
  });

  test('abort mid-decode and mid-prefill reject with AbortError; a queued request can be aborted; the engine stays usable', async () => {
    const base = { messages: ask('Hello there'), max_tokens: 8, temperature: 0 };
    const before = await fix.chat.completions.create(base);

    const ac = new AbortController();
    const s = fix.chat.completions.create({ messages: ask('Go on'), max_tokens: 100, temperature: 0, stream: true, signal: ac.signal });
    let n = 0;
    const e1 = await (async () => {
      try {
        for await (const _ of s) if (++n === 3) ac.abort();
      } catch (e) {
        return e;
      }
    })();
    expect(e1).toBeInstanceOf(AbortError);
    expect(n).toBeLessThan(10);

    // A long prompt in maxBatch-16 submissions: abort while it prefills; a second request queued behind it is
    // aborted while waiting.
    const long = await fix.tokenize('word '.repeat(100), { addBos: false });
    const ac2 = new AbortController();
    const ac3 = new AbortController();
    const p2 = fix.completions.create({ prompt: long.slice(0, 110), max_tokens: 4, signal: ac2.signal });
    const p3 = fix.completions.create({ prompt: [1, 2, 3], max_tokens: 4, signal: ac3.signal });
    const e2 = p2.catch((e) => e);
    const e3 = p3.catch((e) => e);
    // Both aborts reach the worker after both requests (one port, in order): p2 is by then past its first prefill
    // submission (the first await), p3 still waits behind it. No timing: a fast engine cannot finish first.
    ac3.abort();
    ac2.abort();
    expect(await e2).toBeInstanceOf(AbortError);
    expect((await e2).message).not.toMatch(/before it started|while it waited/);
    expect(await e3).toBeInstanceOf(AbortError);
    expect((await e3).message).toMatch(/while it waited/);

    const after = await fix.chat.completions.create(base);
    expect(after.choices[0].message.content).toBe(before.choices[0].message.content);
  });
});
