/**
 * The one list of model families llmo runs. Adding a family: write its spec (src/families/<name>.ts) and, when its
 * block differs, a graph file (src/runtime/graphs/<name>.ts); then add it here. ARCHITECTURE.md has the steps.
 */
import { UnsupportedModelError } from '../errors.ts';
import type { FamilySpec } from './spec.ts';
import { llama, qwen2, qwen3 } from './llama.ts';
import { bert, nomicBert } from './bert.ts';

export type { FamilySpec, TensorSpec, TensorInit, HfNameMap } from './spec.ts';

export const FAMILIES: readonly FamilySpec[] = [llama, qwen2, qwen3, bert, nomicBert];

/** GGUF architecture names llmo runs. */
export const SUPPORTED_ARCHITECTURES: readonly string[] = FAMILIES.map((f) => f.arch);

/** The family of a GGUF `general.architecture` (or `ModelConfig.arch`); UnsupportedModelError when llmo has none. */
export function familyOf(arch: string, source = 'Model'): FamilySpec {
  const f = FAMILIES.find((x) => x.arch === arch);
  if (!f) throw new UnsupportedModelError(`${source} architecture "${arch}" is not supported; llmo runs ${SUPPORTED_ARCHITECTURES.join(', ')}.`);
  return f;
}

/** The family of an HF `config.json` `model_type`. */
export function familyOfHf(modelType: string): FamilySpec {
  const f = FAMILIES.find((x) => x.hf.modelType === modelType);
  if (!f) {
    throw new UnsupportedModelError(
      `config.json model_type "${modelType}" is not supported; llmo runs ${FAMILIES.map((x) => x.hf.modelType).join(', ')}.`,
    );
  }
  return f;
}
