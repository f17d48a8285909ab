import { defineConfig, mergeConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import viteConfig from './vite.config.ts';
import { setModelNetwork } from './test/browser-commands.ts';
import { openTab, tabEval, reloadTab, closeTab } from './test/rag-commands.ts';

/** Flags that make headless Chromium expose WebGPU on SwiftShader (CPU Vulkan); see ../shared/README.md. */
export const CHROMIUM_WEBGPU_ARGS = [
  '--headless', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

const executablePath = process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium';
const extraArgs = (process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);

export default mergeConfig(viteConfig, defineConfig({
  // Pre-bundled up front: discovering them mid-run makes Vite reload the page under a running test.
  optimizeDeps: { include: ['ai', 'openai', 'pdfjs-dist', 'pdf-lib'] },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/*.gpu.test.ts', '**/node_modules/**'],
          environment: 'node',
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['src/**/*.gpu.test.ts', 'test/**/*.gpu.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: { executablePath, args: [...CHROMIUM_WEBGPU_ARGS, ...extraArgs] },
            }),
            instances: [{ browser: 'chromium' }],
            screenshotFailures: false,
            commands: { setModelNetwork, openTab, tabEval, reloadTab, closeTab },
          },
        },
      },
    ],
  },
}));
