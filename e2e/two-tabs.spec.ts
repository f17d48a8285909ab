/**
 * Two tabs of one browser profile load the same model at the same moment: the bytes cross the network once (the
 * Web Lock per URL makes the second tab wait, then read the first one's cached copy), and both tabs run the model
 * the same way. The server counts what it sent for the model's path.
 */
import { test, expect, type Page } from '@playwright/test';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { url, shot, collectErrors, setSettings } from './helpers.ts';

const MODEL = '/shared/models/sotu-5m/sotu-5m-q4_0.gguf';
const SIZE = statSync(resolve(import.meta.dirname, '..', '..', 'shared', 'models', 'sotu-5m', 'sotu-5m-q4_0.gguf')).size;
const CHUNK = 4 << 20; // the loader's default chunk: one Range request each
// Slow enough (about 1.8 s for the file) that both tabs are surely loading while the first download runs.
const THROTTLE = 2_000_000;

const served = async (): Promise<{ requests: number; bytes: number }> => (await fetch(url(`/__served?path=${encodeURIComponent(MODEL)}`))).json();

/** Records every phase the tab's progress box shows. */
async function watchPhases(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const w = window as unknown as { __phases: string[] };
    w.__phases = [];
    const box = document.getElementById('progress-box')!;
    new MutationObserver(() => w.__phases.push(box.dataset.phase ?? '')).observe(box, { attributes: true, attributeFilter: ['data-phase'] });
  });
  return () => page.evaluate(() => (window as unknown as { __phases: string[] }).__phases);
}

async function ask(page: Page, text: string): Promise<string> {
  await page.locator('#chat-input').fill(text);
  await page.locator('#send-btn').click();
  const reply = page.locator('.msg.assistant').last();
  await expect(reply).toHaveAttribute('data-finish', /^(length|stop)$/, { timeout: 60_000 });
  return reply.locator('.body').innerText();
}

test('two tabs load one model at the same moment: one download, same greedy reply in both', async ({ context }, info) => {
  const before = await served();
  const tabs = [await context.newPage(), await context.newPage()];
  const errors = tabs.map(collectErrors);
  await Promise.all(tabs.map((p) => p.goto(url('/'))));
  const phases = await Promise.all(tabs.map(watchPhases));
  for (const p of tabs) {
    await expect(p.locator('body')).toHaveAttribute('data-catalog', 'ready');
    await p.locator('#model-url').fill(`.${MODEL}?throttle=${THROTTLE}`);
  }
  await Promise.all(tabs.map((p) => p.locator('#load-btn').click()));
  // Both are loading while the (throttled) download is under way: the loads overlap.
  for (const p of tabs) await expect(p.locator('body')).toHaveAttribute('data-state', 'loading');
  for (const p of tabs) await expect(p.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await shot(tabs[1], info, 'second-tab-ready');

  // The model's bytes were sent once, in the loader's chunk requests, for both tabs together.
  const after = await served();
  expect(after.bytes - before.bytes).toBe(SIZE);
  expect(after.requests - before.requests).toBe(Math.ceil(SIZE / CHUNK));
  // One tab downloaded; the other waited and read the cache (it never showed a download).
  const seen = await Promise.all(phases.map((get) => get()));
  const downloaded = seen.filter((s) => s.includes('download'));
  expect(downloaded).toHaveLength(1);
  expect(seen.find((s) => !s.includes('download'))).toContain('cache');

  // The same model in both: the same greedy reply.
  for (const p of tabs) await setSettings(p, { maxTokens: 8, temperature: 0 });
  const replies: string[] = [];
  for (const p of tabs) replies.push(await ask(p, 'What is the state of the union?'));
  expect(replies[0].trim().length).toBeGreaterThan(0);
  expect(replies[1]).toBe(replies[0]);
  await tabs[0].bringToFront(); // a tab in the background does not paint, and its screenshot waits
  await shot(tabs[0], info, 'first-tab-answered');
  expect(errors).toEqual([[], []]);
});
