/**
 * Prompt API conformance, written from the specification's IDL and algorithms (webmachinelearning/prompt-api,
 * writing-assistance-apis' shared steps) the way web-platform-tests check them, against llmo in Chromium/WebGPU on
 * sotu-5m (context 64, so whole answers stay short). Every member and every error the specification names for a
 * text model is exercised; token counts are compared with the model's own tokenizer.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { load, type Engine } from '../../index.ts';
import { createLanguageModel, installPromptApi, type LlmoLanguageModel } from './index.ts';

const SOTU = '/shared/models/sotu-5m/sotu-5m-q8_0.gguf';
const CTX = 64;

let engine: Engine;
let LM: LlmoLanguageModel;
beforeAll(async () => {
  engine = await load(SOTU, { contextLength: CTX });
  LM = createLanguageModel({ model: engine });
});
afterAll(() => engine?.dispose());

type Session = Awaited<ReturnType<LlmoLanguageModel['create']>>;
const greedy = () => LM.create({ temperature: 0, topK: 1 });
const rejectsName = async (p: Promise<unknown>, name: string) => {
  const e = await p.then(() => undefined, (x) => x);
  expect(e, `expected a ${name}`).toBeInstanceOf(DOMException);
  expect((e as DOMException).name).toBe(name);
  return e as DOMException;
};
async function readAll(s: ReadableStream<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of s as unknown as AsyncIterable<string>) out.push(c);
  return out;
}

describe('installPromptApi', () => {
  test('keeps a LanguageModel the browser has unless forced; installs where there is none', () => {
    const g = globalThis as { LanguageModel?: unknown };
    const had = Object.getOwnPropertyDescriptor(globalThis, 'LanguageModel');
    try {
      const native = { native: true };
      Object.defineProperty(globalThis, 'LanguageModel', { value: native, configurable: true, writable: true });
      expect(installPromptApi({ model: engine })).toBeUndefined();
      expect(g.LanguageModel).toBe(native);
      const forced = installPromptApi({ model: engine, force: true });
      expect(g.LanguageModel).toBe(forced);
      delete g.LanguageModel;
      expect(installPromptApi({ model: engine })).toBe(g.LanguageModel);
      expect(Object.getOwnPropertyDescriptor(globalThis, 'LanguageModel')?.enumerable).toBe(false);
    } finally {
      delete g.LanguageModel;
      if (had) Object.defineProperty(globalThis, 'LanguageModel', had);
    }
  });
});

describe('interface LanguageModel : EventTarget (IDL members)', () => {
  test('static operations, instance operations and attributes; no public constructor', async () => {
    for (const m of ['create', 'availability', 'params']) expect(typeof (LM as unknown as Record<string, unknown>)[m]).toBe('function');
    for (const m of ['prompt', 'promptStreaming', 'append', 'measureContextUsage', 'clone', 'destroy']) expect(typeof (LM.prototype as unknown as Record<string, unknown>)[m]).toBe('function');
    for (const a of ['contextUsage', 'contextWindow', 'oncontextoverflow']) expect(Object.getOwnPropertyDescriptor(LM.prototype, a)?.get).toBeTypeOf('function');
    expect(Object.getOwnPropertyDescriptor(LM.prototype, 'oncontextoverflow')?.set).toBeTypeOf('function');
    expect(() => new (LM as unknown as new () => unknown)()).toThrow(TypeError);
    const s = await LM.create();
    expect(s).toBeInstanceOf(EventTarget);
    expect(s.contextWindow).toBe(CTX);
    expect(s.contextUsage).toBe(0);
    const p = await LM.params();
    expect(p).toMatchObject({ defaultTopK: expect.any(Number), maxTopK: expect.any(Number), defaultTemperature: expect.any(Number), maxTemperature: expect.any(Number) });
    s.destroy();
  });
});

describe('availability() and create()', () => {
  test('availability() goes downloadable, downloading, available; monitor: downloadprogress from 0 to 1 (total 1, lengthComputable, strictly increasing, 65536ths), all before create() resolves', async () => {
    const lm = createLanguageModel({ model: '/fixtures/tiny~llama~f32~s161/model.gguf', load: { cache: false } });
    expect(await lm.availability()).toBe('downloadable');
    for (const which of ['loading', 'loaded']) {
      const events: ProgressEvent[] = [];
      let created = false;
      let viaHandler = 0;
      const p = lm.create({
        monitor: (m) => {
          m.addEventListener('downloadprogress', (e) => {
            expect(created).toBe(false);
            events.push(e as ProgressEvent);
          });
          (m as unknown as { ondownloadprogress: () => void }).ondownloadprogress = () => viaHandler++;
        },
      });
      if (which === 'loading') expect(await lm.availability()).toBe('downloading');
      (await p).destroy();
      created = true;
      expect(await lm.availability()).toBe('available');
      expect(events.length, which).toBeGreaterThanOrEqual(2);
      expect(viaHandler).toBe(events.length);
      expect(events[0].loaded).toBe(0);
      expect(events.at(-1)!.loaded).toBe(1);
      let last = -1;
      for (const e of events) {
        expect(e.type).toBe('downloadprogress');
        expect(e.lengthComputable).toBe(true);
        expect(e.total).toBe(1);
        expect(e.loaded % (1 / 0x10000)).toBe(0);
        expect(e.loaded).toBeGreaterThan(last);
        last = e.loaded;
      }
      if (which === 'loading') expect(events.length).toBeGreaterThan(2);
    }
    const err = new Error('monitor threw');
    await expect(lm.create({ monitor: () => { throw err; } })).rejects.toBe(err);
    expect(await LM.availability({ expectedInputs: [{ type: 'image' }] })).toBe('unavailable');
    expect(await LM.availability({ expectedInputs: [{ type: 'text', languages: ['EN-us'] }] })).toBe('available');
    await expect(LM.availability({ expectedInputs: [{ type: 'text', languages: ['not a tag!'] }] })).rejects.toThrow(RangeError);
    await rejectsName(LM.create({ expectedInputs: [{ type: 'audio' }] }), 'NotSupportedError');
  });

  test('create() abort: an aborted signal rejects with its reason (AbortError by default); aborting after creation destroys the session with it', async () => {
    const ac = new AbortController();
    ac.abort();
    await rejectsName(LM.create({ signal: ac.signal }), 'AbortError');
    const err = new Error('custom');
    const ac2 = new AbortController();
    const p = LM.create({ signal: ac2.signal });
    ac2.abort(err);
    await expect(p).rejects.toBe(err);
    const ac3 = new AbortController();
    const s = await LM.create({ signal: ac3.signal });
    ac3.abort(err);
    await expect(s.prompt('hi')).rejects.toBe(err);
  });

  test('initialPrompts: exact context usage; a system prompt only first (NotSupportedError); bad roles TypeError; prefix and non-text parts', async () => {
    const initialPrompts = [{ role: 'system' as const, content: 'You are the President.' }, { role: 'user' as const, content: 'Hello.' }, { role: 'assistant' as const, content: 'Good day.' }];
    const s = await LM.create({ initialPrompts });
    expect(s.contextUsage).toBe((await engine.tokenizeChat({ messages: initialPrompts })).length);
    await rejectsName(LM.create({ initialPrompts: [{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }] }), 'NotSupportedError');
    await expect(LM.create({ initialPrompts: [{ role: 'robot' as 'user', content: 'a' }] })).rejects.toThrow(TypeError);
    await rejectsName(s.prompt([{ role: 'system', content: 'late' }]), 'NotSupportedError');
    await rejectsName(s.prompt([{ role: 'user', content: 'x', prefix: true }]), 'SyntaxError');
    await rejectsName(s.prompt([{ role: 'assistant', content: 'x', prefix: true }, { role: 'user', content: 'y' }]), 'SyntaxError');
    await rejectsName(s.prompt([{ role: 'user', content: [{ type: 'image', value: new Uint8Array(4) }] }]), 'NotSupportedError');
    await expect(s.prompt([{ role: 'user', content: [{ type: 'text', value: 5 as unknown as string }] }])).rejects.toThrow(TypeError);
    s.destroy();
  });
});

describe('prompting', () => {
  let base: Session;
  beforeAll(async () => {
    base = await greedy();
  });

  test('prompt() and promptStreaming() give the engine\'s own completion of the conversation; contextUsage is its exact token count', async () => {
    const [a, b] = await Promise.all([base.clone(), base.clone()]);
    const question = 'What is the state of the union?';
    const direct = await engine.chat.completions.create({ messages: [{ role: 'user', content: question }], temperature: 0 });
    const answer = await a.prompt(question);
    expect(answer).toBe(direct.choices[0].message.content);
    expect(a.contextUsage).toBe((await engine.tokenizeChat({ messages: [{ role: 'user', content: question }, { role: 'assistant', content: answer }] })).length);
    const parts = await readAll(b.promptStreaming(question));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.join('')).toBe(answer);
    expect(b.contextUsage).toBe(a.contextUsage);
    expect(base.contextUsage).toBe(0);
  });

  test('measureContextUsage() is the exact token cost of the input and changes nothing; append() adds exactly that', async () => {
    const s = await base.clone();
    const input = [{ role: 'user' as const, content: [{ type: 'text' as const, value: 'The army ' }, { type: 'text' as const, value: 'and the navy.' }] }];
    const cost = await s.measureContextUsage(input);
    expect(cost).toBe((await engine.tokenizeChat({ messages: [{ role: 'user', content: 'The army and the navy.' }] })).length);
    expect(await s.measureContextUsage('The army and the navy.')).toBe(cost);
    expect(s.contextUsage).toBe(0);
    await s.append(input);
    expect(s.contextUsage).toBe(cost);
    await expect(s.measureContextUsage('x', { omitResponseConstraintInput: true })).rejects.toThrow(TypeError);
    await rejectsName(s.append([{ role: 'system', content: 'late' }]), 'NotSupportedError');
  });

  test('responseConstraint: a JSON schema is enforced (every answer parses and validates); a RegExp or an unsupported keyword is NotSupportedError', async () => {
    const schema = { type: 'object', required: ['Rating'], additionalProperties: false, properties: { Rating: { type: 'integer' } } };
    const s = await LM.create({ temperature: 1 });
    for (const q of ['Rate the speech.', 'How good was the year?', 'Score the harvest.']) {
      const c = await s.clone();
      const v = JSON.parse(await c.prompt(q, { responseConstraint: schema }));
      expect(Object.keys(v)).toEqual(['Rating']);
      expect(Number.isInteger(v.Rating)).toBe(true);
    }
    await rejectsName(s.prompt('x', { responseConstraint: /a+/ }), 'NotSupportedError');
    await rejectsName(s.prompt('x', { responseConstraint: { type: 'string', pattern: '^a' } }), 'NotSupportedError');
  });

  test('an input that cannot fit: QuotaExceededError (requested, quota) and a contextoverflow event; the session is unchanged', async () => {
    const s = await base.clone();
    let events = 0;
    let handler = 0;
    s.addEventListener('contextoverflow', () => events++);
    s.oncontextoverflow = () => handler++;
    expect(typeof s.oncontextoverflow).toBe('function');
    const long = 'The union is strong. '.repeat(40);
    const e = (await rejectsName(s.prompt(long), 'QuotaExceededError')) as DOMException & { requested: number; quota: number };
    expect(e.quota).toBe(CTX);
    expect(e.requested).toBe((await engine.tokenizeChat({ messages: [{ role: 'user', content: long }] })).length);
    expect(events).toBe(1);
    expect(handler).toBe(1);
    s.oncontextoverflow = null;
    await rejectsName(s.append(long), 'QuotaExceededError');
    expect(handler).toBe(1);
    expect(events).toBe(2);
    expect(s.contextUsage).toBe(0);
  });

  test('abort: prompt() rejects with the signal\'s reason (AbortError by default); promptStreaming() throws for an aborted signal and errors when aborted mid-stream', async () => {
    const s = await base.clone();
    const ac = new AbortController();
    const p = s.prompt('Tell me a long story about the navy.', { signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await rejectsName(p, 'AbortError');
    const err = new DOMException('mine', 'VersionError');
    const ac2 = new AbortController();
    const stream = s.promptStreaming('Tell me a long story about the navy.', { signal: ac2.signal });
    const reader = stream.getReader();
    await reader.read();
    ac2.abort(err);
    await expect((async () => { for (;;) if ((await reader.read()).done) return; })()).rejects.toBe(err);
    expect(() => s.promptStreaming('x', { signal: ac2.signal })).toThrow(err);
    expect(s.contextUsage).toBe(0);
    // The session still works after aborted calls.
    expect(typeof JSON.parse(await s.prompt('Hello.', { responseConstraint: { type: 'boolean' } }))).toBe('boolean');
  });

  test('destroy(): calls in flight and every later call reject with InvalidStateError; the attributes stay readable', async () => {
    const s = await base.clone();
    const inFlight = s.prompt('Tell me a long story about the navy.');
    s.destroy();
    await rejectsName(inFlight, 'InvalidStateError');
    await rejectsName(s.prompt('x'), 'InvalidStateError');
    await rejectsName(s.append('x'), 'InvalidStateError');
    await rejectsName(s.measureContextUsage('x'), 'InvalidStateError');
    await rejectsName(s.clone(), 'InvalidStateError');
    expect(() => s.promptStreaming('x')).toThrow(DOMException);
    expect(typeof s.contextWindow).toBe('number');
    expect(typeof s.contextUsage).toBe('number');
    s.destroy();
  });

  test('clone(): the same conversation and usage, then independent; an aborted signal rejects with its reason', async () => {
    const s = await base.clone();
    await s.append('The Congress met.');
    const c = await s.clone();
    expect(c.contextUsage).toBe(s.contextUsage);
    expect(c.contextWindow).toBe(s.contextWindow);
    await c.prompt('What did it do?');
    expect(c.contextUsage).toBeGreaterThan(s.contextUsage);
    const ac = new AbortController();
    ac.abort();
    await rejectsName(s.clone({ signal: ac.signal }), 'AbortError');
  });
});
