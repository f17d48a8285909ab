import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { url, collectErrors } from './helpers.ts';

// llama2.c's own greedy output for stories260K from BOS: an independent reference for the built bundle.
const EXPECTED = readFileSync(resolve(import.meta.dirname, '../../shared/models/stories260K/expected-greedy-200.txt'), 'utf8');

// A page with no <meta charset>, served with no charset, loading dist/llmo.js served with no charset either (common
// for self-hosted files): the browser decodes both as windows-1252, so any raw UTF-8 literal in the bundle (U+2581,
// the pre-tokenizer's CJK ranges) would change meaning. The bundle is ASCII-only, so the output must not change.
const PAGE = `<!doctype html><html><head><title>no charset</title></head><body><pre id="out"></pre>
<script src="/dist/llmo.js"></script></body></html>`;

test('dist/llmo.js served without a charset into a page without one reproduces the reference text', async ({ page }) => {
  const errors = collectErrors(page);
  await page.route('**/nocharset/page.html', (route) => route.fulfill({ status: 200, headers: { 'content-type': 'text/html' }, body: PAGE }));
  await page.route('**/dist/llmo.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-type': 'text/javascript' } });
  });
  await page.goto(url('/nocharset/page.html'));
  // Without this the test could pass for the wrong reason (a browser that defaults to UTF-8).
  expect(await page.evaluate(() => document.characterSet.toLowerCase())).toBe('windows-1252');
  const out = await page.evaluate(async (model) => {
    const llmo = (window as unknown as { llmo: typeof import('../src/index.ts') }).llmo;
    const engine = await llmo.load(model);
    const r = await engine.generate('Once upon a time', { maxTokens: 40, temperature: 0 }).result;
    await engine.dispose();
    return { text: 'Once upon a time' + r.text };
  }, url('/shared/models/stories260K/stories260K.gguf'));
  expect(out.text).not.toContain('\u2581');
  expect(out.text.length).toBeGreaterThan('Once upon a time'.length + 60);
  expect(EXPECTED.startsWith(out.text)).toBe(true);
  expect(errors).toEqual([]);
});
