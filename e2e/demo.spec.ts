import { test, expect } from '@playwright/test';
import { url, shot, PICKER_ROWS, collectErrors, pickAndLoad, setSettings } from './helpers.ts';
import { makeSafetensorsFixture } from '../test/fixtures/fixture.ts';
import { fixtureOptions } from '../test/fixture-server.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOTU_Q4 = 'sotu-5m-q4_0.gguf';

test('pick a model, watch it load, chat with streamed output, stop, see the speed', async ({ page }, info) => {
  const errors = collectErrors(page);
  await page.goto(url('/'));
  await expect(page.locator('#device')).toContainText('WebGPU:');
  // The local list comes from ./models.json next to the page, ahead of the hub models.
  await expect(page.locator('#model-list tr')).toHaveCount(PICKER_ROWS);
  await expect(page.locator('#model-list')).toContainText('SmolLM2 360M Instruct');
  await shot(page, info, 'picker');

  const fractions: number[] = [];
  await page.exposeFunction('__recordProgress', (v: number) => fractions.push(v));
  await page.evaluate(() => {
    const bar = document.getElementById('progress') as HTMLProgressElement;
    new MutationObserver(() => (window as unknown as { __recordProgress(v: number): void }).__recordProgress(bar.value))
      .observe(bar, { attributes: true, attributeFilter: ['value'] });
    // <progress>.value is a property; also poll it so changes without attribute writes are seen.
    setInterval(() => (window as unknown as { __recordProgress(v: number): void }).__recordProgress(bar.value), 20);
  });
  await pickAndLoad(page, SOTU_Q4);
  expect(await page.locator('#progress').evaluate((b: HTMLProgressElement) => b.value)).toBe(1);
  await expect(page.locator('#progress-text')).toContainText('Ready · 100%');
  // The bar moved through intermediate values on its way to 100%, never backwards.
  expect(fractions.some((f) => f > 0 && f < 1)).toBe(true);
  for (let i = 1; i < fractions.length; i++) expect(fractions[i]).toBeGreaterThanOrEqual(fractions[i - 1]);
  await expect(page.locator('#model-info')).toContainText('llama, 4 layers, context 256');
  await shot(page, info, 'loaded');

  // A long greedy reply, stopped while it streams.
  await setSettings(page, { maxTokens: 200, temperature: 0 });
  await page.locator('#chat-input').fill('What is the state of the union?');
  await page.locator('#send-btn').click();
  const reply = page.locator('.msg.assistant').last();
  await expect(reply).toHaveClass(/streaming/);
  await expect(reply.locator('.body')).not.toHaveText('', { timeout: 30_000 });
  await expect(page.locator('#stop-btn')).toBeEnabled();
  // Click at once: the reply may end while a screenshot is taken (seen under load), leaving nothing to stop.
  await page.locator('#stop-btn').click();
  await expect(reply).toHaveAttribute('data-finish', 'abort');
  await expect(reply).toHaveClass(/stopped/);
  await expect(page.locator('#stop-btn')).toBeDisabled();
  await expect(page.locator('#send-btn')).toBeEnabled();
  const stoppedText = await reply.locator('.body').innerText();
  await page.waitForTimeout(500);
  expect(await reply.locator('.body').innerText()).toBe(stoppedText);
  await shot(page, info, 'stopped');

  // A short reply that runs to its end; the metrics show real numbers and the chart one point per reply.
  await page.locator('#max-tokens').fill('6');
  await page.locator('#chat-input').fill('Tell me about the navy.');
  await page.locator('#send-btn').click();
  const second = page.locator('.msg.assistant').nth(1);
  await expect(second).toHaveAttribute('data-finish', /^(length|stop)$/);
  expect((await second.locator('.body').innerText()).trim().length).toBeGreaterThan(0);
  await expect(page.locator('#m-ttft')).toHaveText(/^\d+ ms$/);
  const decode = Number((await page.locator('#m-decode').innerText()).split(' ')[0]);
  const prefill = Number((await page.locator('#m-prefill').innerText()).split(' ')[0]);
  expect(decode).toBeGreaterThan(0);
  expect(prefill).toBeGreaterThan(0);
  await expect(page.locator('#m-tokens')).toHaveText(/^\d+ in · \d+ out$/);
  await expect(page.locator('#speed-chart circle.decode')).toHaveCount(2);
  await shot(page, info, 'answered');
  expect(errors).toEqual([]);
});

test('model text and user text are rendered as Markdown without HTML injection', async ({ page }, info) => {
  const errors = collectErrors(page);
  await page.goto(url('/'));
  await pickAndLoad(page, 'stories260K.gguf'); // the smallest model: this long prompt prefills quickly
  await setSettings(page, { maxTokens: 4, temperature: 0 });
  const payload = [
    '**bold** `<b>code</b>` <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script>',
    '[click](javascript:window.__pwned=3) [ok](https://example.com/a) <a href="javascript:alert(1)">raw</a>',
    '```', '<iframe src="javascript:window.__pwned=4"></iframe>', '```',
  ].join('\n');
  await page.locator('#chat-input').fill(payload);
  await page.locator('#send-btn').click();
  await expect(page.locator('.msg.assistant').last()).toHaveAttribute('data-finish', /^(length|stop)$/);
  const user = page.locator('.msg.user').last().locator('.body');
  // Markdown became elements...
  await expect(user.locator('strong')).toHaveText('bold');
  await expect(user.locator('code').first()).toHaveText('<b>code</b>');
  await expect(user.locator('a')).toHaveCount(1);
  await expect(user.locator('a')).toHaveAttribute('href', 'https://example.com/a');
  await expect(user.locator('pre code')).toHaveText('<iframe src="javascript:window.__pwned=4"></iframe>');
  // ...and the HTML stayed text.
  for (const tag of ['img', 'script', 'iframe', 'b']) await expect(page.locator(`#messages ${tag}`)).toHaveCount(0);
  await expect(user).toContainText('<img src=x onerror="window.__pwned=1">');
  await expect(user).toContainText('[click](javascript:window.__pwned=3)');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  // Everything in every message, the model's own output included, is an element the renderer makes.
  const tags = await page.locator('#messages .body *').evaluateAll((els) => [...new Set(els.map((e) => e.tagName))]);
  const allowed = ['P', 'H1', 'H2', 'H3', 'H4', 'UL', 'OL', 'LI', 'PRE', 'CODE', 'BLOCKQUOTE', 'STRONG', 'EM', 'A', 'BR'];
  for (const t of tags) expect(allowed).toContain(t);
  await shot(page, info, 'markdown');
  expect(errors).toEqual([]);
});

test('reload loads the model from the cache; cached models are listed and can be deleted', async ({ page }, info) => {
  await page.goto(url('/'));
  await expect(page.locator('body')).toHaveAttribute('data-catalog', 'ready');
  await pickAndLoad(page, SOTU_Q4);
  await expect(page.locator('#cache-list li')).toHaveCount(1);
  await expect(page.locator('#cache-list li')).toContainText(SOTU_Q4);
  await expect(page.locator('#cache-list li')).toContainText('3.6 MB');
  await shot(page, info, 'cached');

  await page.reload();
  const phases: string[] = [];
  await page.exposeFunction('__recordPhase', (p: string) => phases.push(p));
  await page.evaluate(() => {
    const box = document.getElementById('progress-box')!;
    new MutationObserver(() => (window as unknown as { __recordPhase(p: string): void }).__recordPhase(box.dataset.phase ?? ''))
      .observe(box, { attributes: true, attributeFilter: ['data-phase'] });
  });
  await pickAndLoad(page, SOTU_Q4);
  expect(phases).toContain('cache');
  expect(phases).not.toContain('download');
  await shot(page, info, 'reloaded-from-cache');

  await page.locator('#cache-list button.delete').click();
  await expect(page.locator('#cache-list li')).toHaveCount(0);
  await shot(page, info, 'cache-deleted');
});

test('a safetensors model picked as files: a missing file is named, then all its files load and it answers', async ({ page }, info) => {
  const errors = collectErrors(page);
  // A random-weight fixture made here, handed to the file input as a user's picked files would be.
  const fx = makeSafetensorsFixture(fixtureOptions('tiny~llama~bf16~s3'));
  const json = (name: string, v: unknown) => ({ name, mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(v)) });
  const weights = { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(fx.safetensors) };
  const config = json('config.json', fx.configJson);
  await page.goto(url('/'));
  await expect(page.locator('#local-help')).toContainText('config.json');
  await expect(page.locator('#local-help')).toContainText('tokenizer.json');

  await page.locator('#model-file').setInputFiles([weights, config]);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'error');
  await expect(page.locator('#banner')).toHaveAttribute('data-kind', 'missing-file');
  await expect(page.locator('#banner-title')).toHaveText('tokenizer.json is missing from the picked files.');
  await expect(page.locator('#banner-detail')).toContainText('pick tokenizer.json too');
  await expect(page.locator('#progress-text')).toHaveText('Load failed.');
  await shot(page, info, 'missing-file');

  await page.locator('#model-file').setInputFiles([
    weights, config, json('tokenizer.json', fx.tokenizerJson), json('tokenizer_config.json', fx.tokenizerConfigJson),
  ]);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.locator('#banner')).toBeHidden();
  await expect(page.locator('#progress-text')).toContainText('Ready · 100%');
  await expect(page.locator('#model-info')).toContainText('model: llama, 2 layers');
  await setSettings(page, { maxTokens: 4, temperature: 0 });
  await page.locator('#chat-input').fill('Hello?');
  await page.locator('#send-btn').click();
  const reply = page.locator('.msg.assistant').last();
  await expect(reply).toHaveAttribute('data-finish', /^(length|stop)$/);
  await expect(page.locator('#m-tokens')).toHaveText(/^\d+ in · [1-4] out$/);
  // Local files are read in place: nothing was added to the cache.
  await expect(page.locator('#cache-list li')).toHaveCount(0);
  await shot(page, info, 'picked-files-answered');
  expect(errors).toEqual([]);
});

test('a model folder picked whole (webkitdirectory): found by name among other files, named after the folder', async ({ page }, info) => {
  const errors = collectErrors(page);
  const fx = makeSafetensorsFixture(fixtureOptions('tiny~llama~f16~s5'));
  const dir = join(info.outputPath('picked'), 'TinyFolderModel');
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), fx.safetensors);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(fx.configJson));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(fx.tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(fx.tokenizerConfigJson));
  writeFileSync(join(dir, 'README.md'), '# a model card');
  // A nested file of the same name (as in repos with an onnx/ export) must not be taken for the model's own.
  writeFileSync(join(dir, 'onnx', 'config.json'), '{"not": "this one"}');
  await page.goto(url('/'));
  // What the input handed over (seen in the capture phase, before the demo takes the files and clears the input).
  await page.evaluate(() => document.addEventListener('change', (e) => {
    (window as unknown as { __picked: string[] }).__picked = [...((e.target as HTMLInputElement).files ?? [])].map((f) => f.webkitRelativePath).sort();
  }, true));
  await page.locator('#model-folder').setInputFiles(dir);
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  expect(await page.evaluate(() => (window as unknown as { __picked: string[] }).__picked)).toEqual([
    'README.md', 'config.json', 'model.safetensors', 'onnx/config.json', 'tokenizer.json', 'tokenizer_config.json',
  ].map((f) => `TinyFolderModel/${f}`));
  await expect(page.locator('#model-info')).toContainText('TinyFolderModel: llama, 2 layers');
  await shot(page, info, 'folder-loaded');
  expect(errors).toEqual([]);
});

test('a failed download names the URL and the HTTP status', async ({ page }, info) => {
  await page.goto(url('/'));
  await expect(page.locator('body')).toHaveAttribute('data-catalog', 'ready');
  await page.locator('#model-url').fill('./shared/models/no-such-model.gguf');
  await page.locator('#load-btn').click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'error');
  await expect(page.locator('#banner')).toHaveAttribute('data-kind', 'fetch');
  await expect(page.locator('#banner-title')).toHaveText('The download failed (HTTP 404).');
  await expect(page.locator('#banner-detail')).toContainText('no-such-model.gguf');
  await expect(page.locator('#chat-input')).toBeDisabled();
  await shot(page, info, 'download-failed');
});
