/**
 * The one list of model families llmo runs. Adding a family: write its spec (src/families/<name>.ts) and, when its
 * block differs, a graph file (src/runtime/graphs/<name>.ts); then add it here. ARCHITECTURE.md has the steps.
 */
import { UnsupportedModelError } from '../errors.ts';
import type { FamilySpec } from './spec.ts';
import { llama, mistral, qwen2, qwen3, smollm3 } from './llama.ts';
import { bert, nomicBert } from './bert.ts';
import { gemma2, gemma3 } from './gemma.ts';
import { phi3 } from './phi3.ts';

export type { FamilySpec, TensorSpec, TensorInit, HfNameMap } from './spec.ts';

export const FAMILIES: readonly FamilySpec[] = [llama, qwen2, qwen3, smollm3, mistral, gemma2, gemma3, phi3, bert, nomicBert];

/** GGUF architecture names llmo runs. */
export const SUPPORTED_ARCHITECTURES: readonly string[] = FAMILIES.map((f) => f.arch);

/** Architectures close to one llmo runs, and what they have that llmo lacks (the error says it). */
const CLOSE_GGUF: Record<string, string> = {
  gemma3n: "Gemma 3n's per-layer embeddings, AltUp and LAuReL blocks (llmo runs gemma3)",
  gemma: "the first Gemma generation's block (llmo runs gemma2 and gemma3)",
  phi2: "Phi-2's parallel attention/MLP block with LayerNorm and biases (llmo runs phi3: Phi-3, 3.5 and 4-mini)",
  phimoe: "Phi-3.5-MoE's mixture-of-experts FFN (llmo runs the dense phi3)",
};
const CLOSE_HF: Record<string, string> = {
  phi3small: "Phi-3-small's blocksparse attention and GEGLU (llmo runs phi3)",
  phi4mm: "Phi-4-multimodal's vision and audio towers with LoRA adapters (llmo runs the text-only Phi-4-mini)",
  gemma3: 'the vision tower of Gemma3ForConditionalGeneration (llmo runs the text-only Gemma3ForCausalLM, model_type gemma3_text, or a GGUF of the model: llama.cpp keeps the vision tower in a separate mmproj file)',
  gemma3n: "Gemma 3n's per-layer embeddings, AltUp and LAuReL blocks (llmo runs gemma3_text)",
};

function unsupported(what: string, name: string, close: string | undefined, supported: readonly string[]): UnsupportedModelError {
  return new UnsupportedModelError(
    close
      ? `${what} "${name}" is not supported: llmo lacks ${close}.`
      : `${what} "${name}" is not supported; llmo runs ${supported.join(', ')}.`,
  );
}

/** The family of a GGUF `general.architecture` (or `ModelConfig.arch`); UnsupportedModelError when llmo has none. */
export function familyOf(arch: string, source = 'Model'): FamilySpec {
  const f = FAMILIES.find((x) => x.arch === arch);
  if (!f) throw unsupported(`${source} architecture`, arch, CLOSE_GGUF[arch], SUPPORTED_ARCHITECTURES);
  return f;
}

/** The family of an HF `config.json` `model_type`. */
export function familyOfHf(modelType: string): FamilySpec {
  const f = FAMILIES.find((x) => x.hf.modelType === modelType);
  if (!f) throw unsupported('config.json model_type', modelType, CLOSE_HF[modelType], FAMILIES.map((x) => x.hf.modelType));
  return f;
}
