import { readFileSync } from 'node:fs';
import { HUB_MODELS } from '../demo/models.ts';
import { expect, type Page, type TestInfo } from '@playwright/test';

/** A URL on the e2e static host (e2e/server.ts, started by e2e/global-setup.ts). */
export function url(path: string): string {
  const base = process.env.LLMO_E2E_URL;
  if (!base) throw new Error('LLMO_E2E_URL is not set: run these tests through playwright.config.ts (npx playwright test).');
  return base + path;
}

const shots = new WeakMap<TestInfo, number>();

/** A full-page screenshot in this test's output folder (test-results/e2e/<test>/NN-name.png) for reviewers. */
export async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const n = (shots.get(info) ?? 0) + 1;
  shots.set(info, n);
  await page.screenshot({ path: info.outputPath(`${String(n).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Uncaught exceptions in the page, collected so a test can assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

/** Opens the built demo with the local model list and loads `file` from it through the picker. */
export async function pickAndLoad(page: Page, file: string): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-catalog', 'ready');
  await page.locator(`#model-list input[value$="${file}"]`).check();
  await expect(page.locator('#model-url')).toHaveValue(new RegExp(`${file.replace('.', '\\.')}$`));
  await page.locator('#load-btn').click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
}

/** Opens the demo's settings and sets the reply length and temperature. */
export async function setSettings(page: Page, s: { maxTokens: number; temperature: number }): Promise<void> {
  await page.locator('#settings summary').click();
  await page.locator('#max-tokens').fill(String(s.maxTokens));
  await page.locator('#temperature').fill(String(s.temperature));
}

/** Rows the demo's picker lists: the local ./models.json entries (demo/local-models.json on the test server) and the hub models. */
export const PICKER_ROWS = HUB_MODELS.length + (JSON.parse(readFileSync(new URL('../demo/local-models.json', import.meta.url), 'utf8')) as { models: unknown[] }).models.length;
