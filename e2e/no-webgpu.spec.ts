import { test, expect } from '@playwright/test';
import { url, shot, PICKER_ROWS } from './helpers.ts';

// Chromium without the WebGPU flags: on headless Linux it then offers no WebGPU adapter, in the page or the worker.
test.use({ launchOptions: { executablePath: process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] } });

test('without WebGPU the page says so, and loading fails with WebGPUUnavailableError', async ({ page }, info) => {
  await page.goto(url('/?models=/models.json')); // the list named by ?models= (the other tests use ./models.json)
  await expect(page.locator('#model-list tr')).toHaveCount(PICKER_ROWS);
  await expect(page.locator('#device')).toHaveText('WebGPU: not available.');
  await expect(page.locator('#banner')).toBeVisible();
  await expect(page.locator('#banner')).toHaveAttribute('data-kind', 'webgpu');
  await expect(page.locator('#model-list .fit').first()).toHaveText('no WebGPU');
  await shot(page, info, 'no-webgpu');

  // Loading anyway reaches the engine, whose typed error the page explains.
  await page.locator('#model-list input[value$="stories260K.gguf"]').check();
  await page.locator('#load-btn').click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'error');
  await expect(page.locator('#banner')).toHaveAttribute('data-kind', 'webgpu');
  await expect(page.locator('#banner-title')).toHaveText('WebGPU is not available in this browser.');
  // The engine's own message (src/gpu/device.ts) is shown, not just the page's headline.
  await expect(page.locator('#banner-detail')).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(page.locator('#chat-input')).toBeDisabled();
  await shot(page, info, 'no-webgpu-load');
});
