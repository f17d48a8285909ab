/** The `llmo/ai-sdk` entry: an llmo engine as a Vercel AI SDK provider (see src/integrations/ai-sdk/). */
export { createLlmo, LlmoLanguageModel, LlmoEmbeddingModel, type LlmoProvider, type LlmoProviderSettings } from './integrations/ai-sdk/index.ts';
