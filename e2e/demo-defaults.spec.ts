import { test, expect } from '@playwright/test';
import { url, shot, collectErrors, pickAndLoad } from './helpers.ts';

// The demo must work with its defaults on every model it lists; sotu-5m (the default pick) has the smallest
// context, 256 tokens, less than the default max tokens (256).
test('with the defaults untouched, the 1st and the 5th message on the smallest-context model both get replies', async ({ page }, info) => {
  test.setTimeout(240_000); // five replies of up to 128 tokens (half the context) on SwiftShader
  const errors = collectErrors(page);
  await page.goto(url('/'));
  await expect(page.locator('body')).toHaveAttribute('data-catalog', 'ready');
  await expect(page.locator('#model-list input:checked')).toHaveValue(/sotu-5m-q4_0\.gguf$/);
  await page.locator('#load-btn').click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.locator('#model-info')).toContainText('context 256');
  await expect(page.locator('#max-tokens')).toHaveValue('256');
  const prompts = ['What is the state of the union?', 'Tell me about the navy.', 'And the army?', 'What about taxes?', 'Thank you. Any last words?'];
  for (const [i, p] of prompts.entries()) {
    await page.locator('#chat-input').fill(p);
    await page.locator('#send-btn').click();
    const reply = page.locator('.msg.assistant').nth(i);
    await expect(reply).toHaveAttribute('data-finish', /^(length|stop)$/, { timeout: 60_000 });
    expect((await reply.locator('.body').innerText()).trim().length, `reply ${i + 1}`).toBeGreaterThan(0);
    await expect(page.locator('#banner')).toBeHidden();
  }
  // The conversation outgrew the context on the way: the oldest turns were left out, and the transcript says so.
  await expect(page.locator('#messages .note').first()).toContainText("256-token context");
  await shot(page, info, 'five-turns');
  expect(errors).toEqual([]);
});

test('demo details: error beside the chat box, no empty bubble, no prefill 0 for a stopped reply, settings kept, narrow screens, favicon', async ({ page }, info) => {
  const errors = collectErrors(page);
  const missing: string[] = [];
  page.on('response', (r) => { if (r.status() === 404) missing.push(new URL(r.url()).pathname); });
  await page.goto(url('/'));
  await pickAndLoad(page, 'sotu-5m-q4_0.gguf');

  // A request the model refuses (longer than its context): the banner sits just above the chat box, and the reply
  // bubble that would stay empty is gone.
  await page.locator('#chat-input').fill('the union '.repeat(200));
  await page.locator('#send-btn').click();
  await expect(page.locator('#banner')).toBeVisible();
  expect(await page.locator('#banner').evaluate((b) => b.nextElementSibling?.id)).toBe('chat-form');
  await expect(page.locator('.msg.assistant')).toHaveCount(0);
  await shot(page, info, 'refused');

  // A reply stopped while it streams: no prefill figure, and no prefill point on the chart.
  await page.locator('#chat-input').fill('What is the state of the union?');
  await page.locator('#send-btn').click();
  const reply = page.locator('.msg.assistant').last();
  await expect(reply.locator('.body')).not.toHaveText('', { timeout: 30_000 });
  await page.locator('#stop-btn').click();
  await expect(reply).toHaveAttribute('data-finish', 'abort');
  await expect(page.locator('#m-prefill')).toHaveText('–');
  await expect(page.locator('#speed-chart circle.prefill')).toHaveCount(0);
  await expect(page.locator('#speed-chart circle.decode')).toHaveCount(1);

  // The chosen model and settings survive a reload.
  await page.locator('#model-list input[value$="stories260K.gguf"]').check();
  await page.locator('#settings summary').click();
  await page.locator('#max-tokens').fill('7');
  await page.locator('#max-tokens').blur();
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-catalog', 'ready');
  await expect(page.locator('#model-list input:checked')).toHaveValue(/stories260K\.gguf$/);
  await expect(page.locator('#model-url')).toHaveValue(/stories260K\.gguf$/);
  await expect(page.locator('#max-tokens')).toHaveValue('7');

  // 390 px wide: the local-files row (files and folder pickers) stays inside its card.
  await page.setViewportSize({ width: 390, height: 800 });
  const fits = await page.evaluate(() => {
    const card = document.getElementById('models')!.getBoundingClientRect();
    return ['model-file', 'model-folder'].every((id) => document.getElementById(id)!.getBoundingClientRect().right <= card.right + 0.5);
  });
  expect(fits).toBe(true);
  await shot(page, info, 'narrow');
  expect(missing).toEqual([]);
  expect(errors).toEqual([]);
});
