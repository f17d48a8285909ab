import { defineConfig } from '@playwright/test';
import { CHROMIUM_WEBGPU_ARGS } from './vitest.config.ts';

/**
 * End-to-end tests of the BUILT demo (dist-demo/) and script-tag bundle (dist/llmo.js) in headless Chromium with
 * WebGPU on SwiftShader, served by e2e/server.ts from a local port (no internet). `npm test` builds both first.
 */
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  globalSetup: './e2e/global-setup.ts',
  timeout: 90_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium',
      args: [...CHROMIUM_WEBGPU_ARGS, ...(process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean)],
    },
    screenshot: 'only-on-failure',
  },
});
