/** The `llmo/prompt-api` entry: Chrome's Prompt API (`LanguageModel`) backed by an llmo model (src/integrations/prompt-api/). */
export * from './integrations/prompt-api/index.ts';
