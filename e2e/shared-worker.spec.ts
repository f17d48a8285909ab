import { test, expect, type Page } from '@playwright/test';
import { collectErrors, url } from './helpers.ts';

/**
 * `load(src, { shared: true })` from the built ES bundle: two tabs of one origin share one SharedWorker, so the model
 * is downloaded (and put on the GPU) once; requests from both tabs give the tokens each gives alone; closing a tab in
 * the middle of its request leaves the other tab's request and engine working.
 */
const MODEL = '/shared/models/sotu-5m/sotu-5m-q4_0.gguf';
const served = async (): Promise<{ requests: number; bytes: number }> => (await fetch(url(`/__served?path=${encodeURIComponent(MODEL)}`))).json();

type Win = { engine: import('../src/index.ts').Engine; chunks: number };

async function open(page: Page): Promise<{ host: string | undefined; loadMs: number }> {
  await page.goto(url('/examples/blank.html'));
  return page.evaluate(async (model) => {
    const bundle = '/dist/index.js';
    const llmo = (await import(bundle)) as typeof import('../src/index.ts');
    const t0 = performance.now();
    const engine = await llmo.load(model, { shared: true, cache: false });
    (window as unknown as Win).engine = engine;
    return { host: engine.info.host?.kind, loadMs: performance.now() - t0 };
  }, url(MODEL));
}

/** A greedy streamed chat request; `window.chunks` counts what has arrived. */
const ask = (page: Page, content: string, max: number) =>
  page.evaluate(async ([c, m]) => {
    const w = window as unknown as Win;
    w.chunks = 0;
    let text = '';
    for await (const k of w.engine.chat.completions.create({ messages: [{ role: 'user', content: c }], max_tokens: m, temperature: 0, stream: true })) {
      text += k.choices[0].delta.content ?? '';
      w.chunks++;
    }
    return text;
  }, [content, max] as const);

test('two tabs share one SharedWorker engine: one download, same tokens concurrently, a closed tab leaves the other working', async ({ context }) => {
  const a = await context.newPage();
  const b = await context.newPage();
  const errors = [...collectErrors(a), ...collectErrors(b)];
  const before = await served();
  const la = await open(a);
  const lb = await open(b);
  expect([la.host, lb.host]).toEqual(['shared-worker', 'shared-worker']);
  const after = await served();
  const { statSync } = await import('node:fs');
  const size = statSync(new URL(`../..${MODEL}`, import.meta.url)).size;
  // One load for two tabs: the file's bytes came once (cache: false, so a second load would fetch it again).
  expect(after.bytes - before.bytes).toBe(size);

  const q1 = 'What is the state of the union?';
  const q2 = 'Tell me about the Congress.';
  const alone1 = await ask(a, q1, 24);
  const alone2 = await ask(b, q2, 24);
  const [c1, c2] = await Promise.all([ask(a, q1, 24), ask(b, q2, 24)]);
  expect([c1, c2]).toEqual([alone1, alone2]);

  const long = await ask(b, q2, 48);
  const pa = ask(a, q1, 200).catch(() => 'closed');
  await a.waitForFunction(() => (window as unknown as Win).chunks > 0);
  const pb = ask(b, q2, 48);
  await a.close();
  expect(await pb).toBe(long);
  expect(await pa).toBe('closed');
  expect(await ask(b, q1, 24)).toBe(alone1);
  expect(errors).toEqual([]);
});
