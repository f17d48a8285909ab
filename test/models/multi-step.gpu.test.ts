/**
 * Greedy decoding runs several steps per GPU submission (EngineCore `decodeBatch`, Transformer `decodeSteps`); every
 * way a generation can end inside a batch must give exactly what one step at a time gives. The one-step answer is
 * llama2.c's reference output for stories260K (expected-greedy-200), so these checks do not lean on our own
 * single-step path: maxTokens, stop strings, EOS (a copy of the model whose EOS id is a token the text reaches
 * mid-batch), abort, and the KV cache rolled back to the kept tokens (the next request reuses it).
 * Log-probs (recorded on the GPU, runtime/gpu-logprobs.ts) and JSON mode (mask on the GPU, jump-forward) are checked
 * against the CPU path: the same request on an engine loaded with `debug: { cpuPick: true }` reads the full logits
 * one step at a time and takes log-softmax, top-k, the grammar mask, bias and penalties on the CPU (runtime/sampler.ts)
 * from the same decode kernels' logits.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { load, type Engine } from '../../src/index.ts';
import { decodeBatch } from '../../src/runtime/generation-helpers.ts';
import type { GenerateOptions, GenerationResult } from '../../src/runtime/engine-types.ts';
import { validates, type Schema } from '../json-schema-check.ts';
import { GpuCallCounter } from '../gpu-call-counter.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';
let engine: Engine;
/** The same model picking on the CPU (LoadOptions.debug.cpuPick). */
let cpu: Engine;
let ids: number[]; // BOS + 200 reference tokens
let full: { tokens: number[]; text: string };

beforeAll(async () => {
  ids = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
  engine = await load(MODEL);
  cpu = await load(MODEL, { debug: { cpuPick: true } });
  const r = await engine.complete([1], { maxTokens: 200, temperature: 0, ignoreEos: true });
  full = { tokens: r.tokens, text: r.text };
});
afterAll(async () => {
  await engine.dispose();
  await cpu.dispose();
});

test('the batch policy: 1, 1, 2, 4, 8, then 16 per submission, never past maxTokens', () => {
  const sizes: number[] = [];
  for (let made = 1; made < 60;) made += sizes[sizes.push(decodeBatch(made, 60 - made)) - 1];
  expect(sizes).toEqual([1, 2, 4, 8, 16, 16, 12]);
  expect(decodeBatch(0, 100)).toBe(1);
  expect(decodeBatch(40, 3)).toBe(3);
});

test('200 tokens equal the reference; every maxTokens cut is its prefix', async () => {
  expect([1, ...full.tokens]).toEqual(ids);
  for (const n of [1, 2, 3, 5, 7, 12, 17, 31, 33, 47]) {
    const r = await engine.complete([1], { maxTokens: n, temperature: 0, ignoreEos: true });
    expect(r.tokens, `maxTokens ${n}`).toEqual(full.tokens.slice(0, n));
    expect(r.finishReason).toBe('length');
  }
});

test('a stop string inside a batch ends the text before it, and the next request reuses exactly the kept KV', async () => {
  // Stops that first appear at various offsets, so the cut falls at different places inside the 16-token batches.
  for (const stop of ['girl', 'park.', 'ball', 'mom said', 'sorry']) {
    const at = full.text.indexOf(stop);
    expect(at, stop).toBeGreaterThan(0);
    const r = await engine.complete([1], { maxTokens: 200, temperature: 0, ignoreEos: true, stop: [stop] });
    expect(r.text, stop).toBe(full.text.slice(0, at));
    expect(r.finishReason).toBe('stop');
    expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
    // The cache holds BOS and every kept token but the last: a request continuing from there prefills one token,
    // then must go on exactly as the reference does (a KV row counted wrongly would change the text).
    const next = await engine.complete([1, ...r.tokens], { maxTokens: 20, temperature: 0, ignoreEos: true });
    expect(next.stats.reusedPromptTokens, stop).toBe(r.tokens.length);
    expect(next.tokens, stop).toEqual(full.tokens.slice(r.tokens.length, r.tokens.length + 20));
  }
});

test('EOS inside a batch ends generation before it', async () => {
  // The same weights with tokenizer.ggml.eos_token_id set to a token the reference text first reaches at index k.
  const bytes = new Uint8Array(await (await fetch(MODEL)).arrayBuffer());
  const key = new TextEncoder().encode('tokenizer.ggml.eos_token_id');
  let off = -1;
  for (let i = 0; i < 1 << 16 && off < 0; i++) if (key.every((b, j) => bytes[i + j] === b)) off = i + key.length;
  const view = new DataView(bytes.buffer);
  expect(view.getUint32(off, true)).toBe(4); // GGUF value type u32, then the value
  for (const k of [9, 38]) {
    const eos = full.tokens[k];
    const first = full.tokens.indexOf(eos);
    view.setUint32(off + 4, eos, true);
    const e = await load(new File([bytes], 'stories260K-eos.gguf'), { worker: false });
    try {
      const r = await e.complete([1], { maxTokens: 200, temperature: 0 });
      expect(r.finishReason).toBe('stop');
      expect(r.tokens, `eos ${eos}`).toEqual(full.tokens.slice(0, first));
    } finally {
      await e.dispose();
    }
  }
});

test('abort while a batch runs: the tokens kept are the reference prefix, finishReason abort', async () => {
  const ac = new AbortController();
  const seen: number[] = [];
  const s = engine.generate([1], { maxTokens: 200, temperature: 0, ignoreEos: true, signal: ac.signal });
  for await (const c of s) {
    seen.push(c.token);
    if (seen.length === 20) ac.abort();
  }
  const r = await s.result;
  expect(r.finishReason).toBe('abort');
  expect(r.tokens.length).toBeGreaterThanOrEqual(20);
  expect(r.tokens.length).toBeLessThan(200);
  expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
  // And the engine goes on from a consistent cache.
  const again = await engine.complete([1], { maxTokens: 40, temperature: 0, ignoreEos: true });
  expect(again.tokens).toEqual(full.tokens.slice(0, 40));
});

/** GPU log-probs vs the CPU's log-softmax of the same logits: only the f32 Σ exp differs (printed below). */
const LOGPROB_TOL = 1e-4;
/** The largest difference seen (printed: the margin under the tolerance). */
let worst = 0;
afterAll(() => console.log(`largest GPU vs CPU log-prob difference: ${worst.toExponential(2)} nats`));

function expectSameLogprobs(gpu: GenerationResult, cpu: GenerationResult, what: string): void {
  expect(gpu.tokens, what).toEqual(cpu.tokens);
  expect(gpu.logprobs!.length, what).toBe(gpu.tokens.length);
  gpu.logprobs!.forEach((g, i) => {
    const c = cpu.logprobs![i];
    expect(g.token).toBe(c.token);
    expect(Math.abs(g.logprob - c.logprob), `${what} token ${i}`).toBeLessThan(LOGPROB_TOL);
    worst = Math.max(worst, Math.abs(g.logprob - c.logprob), ...g.top.map((t, j) => Math.abs(t.logprob - c.top[j].logprob)));
    expect(g.top.map((t) => t.token), `${what} token ${i}`).toEqual(c.top.map((t) => t.token));
    g.top.forEach((t, j) => expect(Math.abs(t.logprob - c.top[j].logprob)).toBeLessThan(LOGPROB_TOL));
  });
}

test('logprobs batch like greedy decoding: the reference tokens, and the CPU path\'s log-probs within 1e-4 (top 0, 5, 20; a stop string)', async () => {
  for (const top of [0, 5, 20]) {
    const o: GenerateOptions = { maxTokens: 60, temperature: 0, ignoreEos: true, logprobs: top };
    const gpu = await engine.complete([1], o);
    expect(gpu.tokens).toEqual(full.tokens.slice(0, 60));
    expectSameLogprobs(gpu, await cpu.complete([1], o), `top ${top}`);
    if (top > 0) expect(gpu.logprobs!.every((l) => l.top.length === top && l.top[0].token === l.token)).toBe(true);
  }
  const o: GenerateOptions = { maxTokens: 200, temperature: 0, ignoreEos: true, logprobs: 3, stop: ['park.'] };
  const gpu = await engine.complete([1], o);
  expect(gpu.text).toBe(full.text.slice(0, full.text.indexOf('park.')));
  expectSameLogprobs(gpu, await cpu.complete([1], o), 'stop');
});

test('sampled requests with logprobs draw the same tokens as without (GPU sampler), their log-probs those of the model', async () => {
  const o: GenerateOptions = { maxTokens: 40, temperature: 1.5, topK: 0, topP: 1, seed: 11, ignoreEos: true };
  const plain = await engine.complete([1, 77, 301], o);
  const withLp = await engine.complete([1, 77, 301], { ...o, logprobs: 2 });
  expect(withLp.tokens).toEqual(plain.tokens);
  // The model's log-probs, before sampling (temperature and all): the logits of the same prefix, run as a prompt
  // (prefill kernels, so rounding differs slightly from the decode steps').
  for (const i of [0, 7, 23]) {
    const logits = await engine.logits([1, 77, 301, ...plain.tokens.slice(0, i)]);
    let max = -Infinity;
    for (const v of logits) max = Math.max(max, v);
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    const lse = max + Math.log(sum);
    expect(withLp.logprobs![i].logprob).toBeCloseTo(logits[plain.tokens[i]] - lse, 3);
  }
});

test('the prefix cache: a restored prompt decodes the reference, with the CPU path\'s log-probs', async () => {
  const prompt = ids.slice(0, 40);
  await engine.complete(prompt, { maxTokens: 1, temperature: 0 }); // stored in the prefix cache
  await engine.complete([1, 300, 301, 302], { maxTokens: 4, temperature: 0 }); // the live cache now holds another prompt
  const o: GenerateOptions = { maxTokens: 30, temperature: 0, ignoreEos: true, logprobs: 4 };
  const gpu = await engine.complete(prompt, o);
  expect(gpu.stats.prefixCachedTokens).toBe(39);
  expect(gpu.tokens).toEqual(full.tokens.slice(39, 69));
  await engine.complete([1, 300, 301, 302], { maxTokens: 4, temperature: 0 });
  expectSameLogprobs(gpu, await cpu.complete(prompt, o), 'prefix cache');
});

test('greedy with repetition, frequency or presence penalties or a logit bias picks on the GPU (several steps per submission): exactly the CPU path\'s tokens', async () => {
  const cases: GenerateOptions[] = [
    { repetitionPenalty: 1.3 },
    { frequencyPenalty: 0.7, presencePenalty: 0.45 },
    { logitBias: { [full.tokens[2]]: -100, 13: 3.3 } },
    { temperature: 0.9, topK: 1, repetitionPenalty: 1.1, frequencyPenalty: 0.3, logitBias: { 400: 1.7 } },
  ];
  for (const c of cases) {
    const o: GenerateOptions = { maxTokens: 96, temperature: 0, ignoreEos: true, ...c };
    const gpu = await engine.complete([1], o);
    expect(gpu.tokens, JSON.stringify(c)).toEqual((await cpu.complete([1], o)).tokens);
    // The options changed the text, so the equality says something about them.
    expect(gpu.tokens, JSON.stringify(c)).not.toEqual(full.tokens.slice(0, 96));
  }
  const j: GenerateOptions = { maxTokens: 80, temperature: 0, repetitionPenalty: 1.4, presencePenalty: 0.5, json: { type: 'json_schema', schema: SCHEMA } };
  expect((await engine.complete([1], j)).tokens).toEqual((await cpu.complete([1], j)).tokens);
});

const SCHEMA: Schema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer' },
    happy: { type: 'boolean' },
    pets: { type: 'array', items: { enum: ['cat', 'dog', 'bird'] }, maxItems: 2 },
  },
  required: ['name', 'age', 'happy', 'pets'],
  additionalProperties: false,
};

test('JSON mode on the GPU mask, with jump-forward, gives the CPU path\'s tokens (greedy), and seeds draw alike with or without jumps (sampled)', async () => {
  const prompts = [[1], [1, 77, 301, 12], ids.slice(0, 20)];
  for (const p of prompts) {
    const o: GenerateOptions = { maxTokens: 80, temperature: 0, json: { type: 'json_schema', schema: SCHEMA } };
    const gpu = await engine.complete(p, o);
    const onCpu = await cpu.complete(p, o);
    expect(gpu.tokens, `prompt ${p.length}`).toEqual(onCpu.tokens);
    expect(gpu.text).toBe(onCpu.text);
    expect(gpu.finishReason).toBe('stop');
    expect(validates(JSON.parse(gpu.text), SCHEMA), gpu.text).toBe(true);
    // Log-probs turn jump-forward off (every token gets the head): the same tokens, the CPU's log-probs.
    expectSameLogprobs(await engine.complete(p, { ...o, logprobs: 2 }), await cpu.complete(p, { ...o, logprobs: 2 }), 'json');
  }
  for (let seed = 1; seed <= 4; seed++) {
    const o: GenerateOptions = { maxTokens: 80, temperature: 1.2, seed, json: { type: 'json_schema', schema: SCHEMA }, repetitionPenalty: 1.3, frequencyPenalty: 0.2 };
    const jumped = await engine.complete([1], o);
    const stepped = await engine.complete([1], { ...o, logprobs: 0 });
    expect(jumped.tokens, `seed ${seed}`).toEqual(stepped.tokens);
    expect(validates(JSON.parse(jumped.text), SCHEMA), jumped.text).toBe(true);
  }
});

test('jump-forward: tokens a schema forces (byte-level BPE spells rare names one byte at a time) are fed without picks, and change nothing', async () => {
  // A random-weight fixture whose tokenizer has one token per byte and merges from English text only.
  const fx = await load('/fixtures/tiny~qwen3~q4_0~s9/model.gguf', { worker: false });
  const fxCpu = await load('/fixtures/tiny~qwen3~q4_0~s9/model.gguf', { worker: false, debug: { cpuPick: true } });
  try {
    const schema: Schema = {
      type: 'object', properties: { QXZJ: { type: 'integer' }, happy: { type: 'boolean' }, zyq: { enum: ['QZX', 'VQZ'] } },
      required: ['QXZJ', 'happy', 'zyq'], additionalProperties: false,
    };
    const json = { type: 'json_schema' as const, schema };
    for (const p of [[1, 2, 3], [5, 80, 81, 200]]) {
      const o: GenerateOptions = { maxTokens: 60, temperature: 0, json };
      const gpu = await fx.complete(p, o);
      expect(gpu.tokens).toEqual((await fxCpu.complete(p, o)).tokens);
      expect(validates(JSON.parse(gpu.text), schema), gpu.text).toBe(true);
      expect(gpu.text).toContain('"QXZJ"'); // steady-state.gpu.test.ts counts the submissions jump-forward saves
    }
    for (let seed = 1; seed <= 4; seed++) {
      const o: GenerateOptions = { maxTokens: 60, temperature: 1.2, seed, json, repetitionPenalty: 1.3, presencePenalty: 0.3 };
      const jumped = await fx.complete([1, 2, 3], o);
      expect(jumped.tokens, `seed ${seed}`).toEqual((await fx.complete([1, 2, 3], { ...o, logprobs: 0 })).tokens);
      expect(validates(JSON.parse(jumped.text), schema), jumped.text).toBe(true);
    }
    // Log-probs on a byte-level vocabulary with a larger softmax (random weights: flat, so Σ exp is long).
    const lo: GenerateOptions = { maxTokens: 40, temperature: 0, ignoreEos: true, logprobs: 20 };
    expectSameLogprobs(await fx.complete([1, 2, 3], lo), await fxCpu.complete([1, 2, 3], lo), 'fixture');
  } finally {
    await fx.dispose();
    await fxCpu.dispose();
  }
});

test('debug.cpuPick reads every picked token\'s logits back, the GPU path none (so the comparisons above compare two paths)', async () => {
  const counter = new GpuCallCounter();
  counter.install();
  const url = '/fixtures/tiny~qwen3~q4_0~s9/model.gguf';
  const onGpu = await load(url, { worker: false });
  const onCpu = await load(url, { worker: false, debug: { cpuPick: true } });
  try {
    const logitsBytes = onGpu.info.config.vocabSize * 4;
    for (const [engine, reads] of [[onGpu, 0], [onCpu, 1]] as const) {
      counter.start();
      const r = await engine.complete([1, 2, 3], { maxTokens: 6, temperature: 0, ignoreEos: true });
      counter.stop();
      expect(counter.mapped.filter((bytes) => bytes >= logitsBytes)).toHaveLength(reads * r.tokens.length);
    }
  } finally {
    counter.uninstall();
    await onGpu.dispose();
    await onCpu.dispose();
  }
});
