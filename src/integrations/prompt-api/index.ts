/**
 * `llmo/prompt-api`: Chrome's Prompt API (`LanguageModel`) on any WebGPU browser, backed by an llmo model.
 *
 *   import { installPromptApi } from 'llmo/prompt-api';
 *   installPromptApi({ model: 'hf:owner/repo/model-q4_0.gguf' });   // only where the browser has no LanguageModel
 *   const session = await LanguageModel.create({ initialPrompts: [{ role: 'system', content: 'Be brief.' }] });
 *   console.log(await session.prompt('Hi!'), session.contextUsage, '/', session.contextWindow);
 */
import type { LoadModelOptions } from '../../index.ts';
import type { Engine } from '../../engine.ts';
import type { ModelSource } from '../../loader/source.ts';
import { Backend } from './backend.ts';
import { languageModelClass } from './language-model.ts';

export type { LanguageModelCreateOptions, LanguageModelCreateCoreOptions, LanguageModelPromptOptions, LanguageModelExpected } from './language-model.ts';
export type { LanguageModelPrompt, PromptMessage, PromptContent } from './messages.ts';

export interface PromptApiOptions {
  /** A loaded engine, or what to load on the first `LanguageModel.create()` (progress reaches its `monitor`). */
  model: Engine | ModelSource;
  /** Options for that load (context length, cache, progress, ...). */
  load?: LoadModelOptions;
  /** Replace the browser's own `LanguageModel` too (default: keep it where it exists). */
  force?: boolean;
  /** Session defaults where create() gives none (the specification leaves them to the implementation). */
  temperature?: number;
  topK?: number;
}

export type LlmoLanguageModel = ReturnType<typeof languageModelClass>;

/**
 * Defines `globalThis.LanguageModel` backed by llmo, unless the browser has one and `force` is not set. Returns the
 * class installed, or undefined when the native one was kept. Every session shares one engine.
 */
export function installPromptApi(options: PromptApiOptions): LlmoLanguageModel | undefined {
  const g = globalThis as { LanguageModel?: unknown };
  if (g.LanguageModel && !options.force) return undefined;
  const cls = createLanguageModel(options);
  Object.defineProperty(globalThis, 'LanguageModel', { value: cls, writable: true, configurable: true, enumerable: false });
  return cls;
}

/** The `LanguageModel` class over `options.model`, without touching globalThis. */
export function createLanguageModel(options: PromptApiOptions): LlmoLanguageModel {
  const backend = new Backend(options.model, options.load);
  return languageModelClass(backend, { temperature: options.temperature ?? 0.8, topK: options.topK ?? 40 });
}
