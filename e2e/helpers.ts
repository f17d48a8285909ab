import type { Page, TestInfo } from '@playwright/test';

/** A URL on the e2e static host (e2e/server.ts, started by e2e/global-setup.ts). */
export function url(path: string): string {
  const base = process.env.LLMO_E2E_URL;
  if (!base) throw new Error('LLMO_E2E_URL is not set: run these tests through playwright.config.ts (npx playwright test).');
  return base + path;
}

/** A full-page screenshot in this test's output folder (test-results/e2e/<test>/NN-name.png) for reviewers. */
export async function shot(page: Page, info: TestInfo, name: string): Promise<void> {
  const n = String(info.attachments.length + 1).padStart(2, '0');
  const path = info.outputPath(`${n}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await info.attach(name, { path, contentType: 'image/png' });
}

/** Uncaught exceptions in the page, collected so a test can assert there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}
