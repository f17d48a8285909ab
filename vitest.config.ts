import { defineConfig, mergeConfig, type TestProjectInlineConfiguration } from 'vitest/config';
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

/**
 * Browser files that hold loads to wall-clock limits: they run after every other file, alone (project
 * `browser-timed`), so a neighbouring file's load cannot push them over (corrupt-files compares each corrupt load with
 * the intact file's, measured once at its start).
 */
const TIMED_BROWSER_FILES = ['test/corrupt/corrupt-files.gpu.test.ts'];

/** The headless-Chromium WebGPU project: `files` run `workers` at a time, each in its own page and browser context. */
const browserProject = (name: string, files: { include: string[]; exclude?: string[] }, workers: number, groupOrder: number): TestProjectInlineConfiguration => ({
  extends: true,
  test: {
    name,
    ...files,
    maxWorkers: workers,
    sequence: { groupOrder },
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
});

export default mergeConfig(viteConfig, defineConfig({
  // Pre-bundled up front: discovering them mid-run makes Vite reload the page under a running test.
  optimizeDeps: { include: ['ai', 'openai', 'pdfjs-dist', 'pdf-lib'] },
  test: {
    // Two test files at once per project (own page and browser context each: own IndexedDB, Cache Storage, Web Locks).
    // Vitest's default is one less than the core count: 1 on a 2-core CI machine, where a browser file alone keeps
    // only ~1.3 cores busy (its reference, llama.cpp and SwiftShader take turns), so files ran one after another.
    // Projects with the same maxWorkers and sequence.groupOrder run side by side; a higher groupOrder runs after.
    maxWorkers: 2,
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
      browserProject('browser', { include: ['src/**/*.gpu.test.ts', 'test/**/*.gpu.test.ts'], exclude: [...TIMED_BROWSER_FILES, '**/node_modules/**'] }, 2, 0),
      browserProject('browser-timed', { include: TIMED_BROWSER_FILES }, 1, 1),
    ],
  },
}));
