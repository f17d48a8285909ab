/**
 * `npm run bench:micro`: the in-page kernel microbenches (bench/micro/*.micro.ts) in the same headless Chromium on
 * WebGPU as the browser tests. Not part of `npm test`: they print timings and assert nothing about speed.
 */
import { defineConfig, mergeConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import viteConfig from './vite.config.ts';
import { CHROMIUM_WEBGPU_ARGS } from './vitest.config.ts';
import { gpuProcessCpuMs, gpuThreadsCpuMs, loadAverage } from './bench/micro/cpu-time-command.ts';

const executablePath = process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium';
const extraArgs = (process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);

export default mergeConfig(viteConfig, defineConfig({
  test: {
    include: ['bench/micro/*.micro.ts'],
    testTimeout: 600_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({ launchOptions: { executablePath, args: [...CHROMIUM_WEBGPU_ARGS, ...extraArgs] } }),
      instances: [{ browser: 'chromium' }],
      screenshotFailures: false,
      commands: { gpuProcessCpuMs, gpuThreadsCpuMs, loadAverage },
    },
  },
}));
