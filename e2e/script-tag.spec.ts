import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { url, shot, collectErrors } from './helpers.ts';

// llama2.c's own greedy output for stories260K from BOS: an independent reference for the built bundle.
const EXPECTED = readFileSync(resolve(import.meta.dirname, '../../shared/models/stories260K/expected-greedy-200.txt'), 'utf8');

test('examples/script-tag.html: dist/llmo.js alone loads a model and generates the reference text', async ({ page }, info) => {
  const errors = collectErrors(page);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(url('/examples/script-tag.html?model=/shared/models/stories260K/stories260K.gguf'));
  expect(await page.evaluate(() => typeof (window as unknown as { llmo?: { load?: unknown } }).llmo?.load)).toBe('function');
  await expect(page.locator('#status')).toHaveText('ready: stories260K', { timeout: 60_000 });
  await shot(page, info, 'loaded');
  await page.locator('#go').click();
  await expect(page.locator('body')).toHaveAttribute('data-done', 'true', { timeout: 60_000 });
  const out = await page.locator('#out').innerText();
  // The prompt is the reference text's own beginning, so greedy decoding must continue it exactly.
  expect(out.length).toBeGreaterThan('Once upon a time'.length + 100);
  expect(EXPECTED.startsWith(out)).toBe(true);
  await shot(page, info, 'generated');
  // One script and the model: the worker came from inside the bundle, not from another file.
  const scripts = requests.filter((p) => p.endsWith('.js'));
  expect(scripts).toEqual(['/dist/llmo.js']);
  expect(errors).toEqual([]);
});

test('dist/index.js (the npm ES module) loads and generates the reference text, worker included', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto(url('/examples/blank.html'));
  const out = await page.evaluate(async (model) => {
    const bundle = '/dist/index.js'; // a string the TS checker does not resolve: it exists only on the e2e host
    const llmo = (await import(bundle)) as typeof import('../src/index.ts');
    const engine = await llmo.load(model);
    const r = await engine.generate('Once upon a time', { maxTokens: 30, temperature: 0 }).result;
    await engine.dispose();
    return { text: 'Once upon a time' + r.text, reason: r.finishReason };
  }, url('/shared/models/stories260K/stories260K.gguf'));
  expect(out.reason).toBe('length');
  expect(out.text.length).toBeGreaterThan('Once upon a time'.length + 40);
  expect(EXPECTED.startsWith(out.text)).toBe(true);
  expect(errors).toEqual([]);
});

test('dist/ai-sdk.js (llmo/ai-sdk) runs on the built engine chunk and imports nothing else', async ({ page, request }) => {
  const errors = collectErrors(page);
  const source = await (await request.get(url('/dist/ai-sdk.js'))).text();
  const imports = [...source.matchAll(/^import [^;]* from "([^"]+)"/gm)].map((m) => m[1]);
  expect(imports.length).toBeGreaterThan(0);
  expect(imports.every((p) => /^\.\/llmo-[\w-]+\.js$/.test(p))).toBe(true);
  await page.goto(url('/examples/blank.html'));
  const out = await page.evaluate(async (model) => {
    const bundle = '/dist/ai-sdk.js';
    const { createLlmo } = (await import(bundle)) as typeof import('../src/ai-sdk.ts');
    const provider = createLlmo({ source: model });
    const r = await provider().doGenerate({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'Once upon a time' }] }], maxOutputTokens: 5, temperature: 0 });
    await (await provider.engine()).dispose();
    return { finish: r.finishReason.unified, output: r.usage.outputTokens.total };
  }, url('/shared/models/stories260K/stories260K.gguf'));
  expect(out).toEqual({ finish: 'length', output: 5 });
  expect(errors).toEqual([]);
});

test('dist/prompt-api.js (llmo/prompt-api) installs LanguageModel on the built engine chunk', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto(url('/examples/blank.html'));
  const out = await page.evaluate(async (model) => {
    const bundle = '/dist/prompt-api.js';
    const { installPromptApi } = (await import(bundle)) as typeof import('../src/prompt-api.ts');
    const LM = installPromptApi({ model, force: true })!;
    const session = await LM.create({ temperature: 0 });
    const answer = await session.prompt('Once upon a time', { responseConstraint: { type: 'boolean' } });
    return { same: (globalThis as { LanguageModel?: unknown }).LanguageModel === LM, answer: JSON.parse(answer), usage: session.contextUsage };
  }, url('/shared/models/stories260K/stories260K.gguf'));
  expect(out.same).toBe(true);
  expect(typeof out.answer).toBe('boolean');
  expect(out.usage).toBeGreaterThan(0);
  expect(errors).toEqual([]);
});

test('dist/llmo.js alone: quantize-on-load runs on its inlined nested workers, the same bytes as one thread', async ({ page }) => {
  const errors = collectErrors(page);
  const requests: string[] = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(url('/examples/blank.html'));
  await page.addScriptTag({ url: '/dist/llmo.js' });
  const r = await page.evaluate(async (model) => {
    const llmo = (window as unknown as { llmo: typeof import('../src/index.ts') }).llmo;
    const run = async (quantizeThreads: number | undefined) => {
      const engine = await llmo.load(model, { quantize: 'q8_0', quantizeThreads, cache: false });
      const logits = Array.from(await engine.logits([1, 403, 407, 261, 378]));
      const threads = engine.info.quantizeThreads;
      await engine.dispose();
      return { logits, threads };
    };
    const pool = await run(undefined);
    const one = await run(0);
    return { poolThreads: pool.threads, oneThreads: one.threads, same: pool.logits.every((x, i) => x === one.logits[i]) && pool.logits.length === one.logits.length };
  }, url('/shared/models/stories260K/stories260K.gguf'));
  expect(r.poolThreads).toBeGreaterThan(0);
  expect(r.oneThreads).toBe(0);
  expect(r.same).toBe(true);
  // The quantize workers came from inside the bundle too.
  expect(requests.filter((p) => p.endsWith('.js'))).toEqual(['/dist/llmo.js']);
  expect(errors).toEqual([]);
});
