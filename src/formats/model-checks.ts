/**
 * The check that a model (its config and tensor table) is one llmo can run, before anything is uploaded: supported
 * tensor types, counts consistent with the tensor table, every tensor the family graph reads present with its shape,
 * none it would silently ignore. Each failure is a typed error that names the tensor or the config value.
 */
import { GgmlType, type ModelConfig, type TensorInfo } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { ggmlTypeName } from './ggml-types.ts';
import { SUPPORTED_TENSOR_TYPES } from './weight-formats.ts';
import { familyOf } from '../families/index.ts';

/** Expected shape of every tensor the engine reads, row-major (the family's tensor list). */
export function expectedTensorShapes(config: ModelConfig): Map<string, number[]> {
  return new Map(familyOf(config.arch).tensors(config).map((t) => [t.name, t.shape]));
}

/** Far above any real model; a larger value is a corrupt header, refused before per-layer tables are built. */
const MAX_CONTEXT = 1 << 24;

/** Types a vector (norm weight, bias, RoPE factors) may have: converters always keep them in float. */
const VECTOR_TYPES: readonly GgmlType[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16];

/** Blocks the tensor table has (`blk.N.` names: highest N + 1), bounded by the tensor count. */
function blocksInFile(tensors: readonly TensorInfo[]): number {
  let n = 0;
  for (const t of tensors) {
    const m = /^blk\.(\d+)\./.exec(t.name);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/**
 * Throws UnsupportedModelError for an architecture or tensor type llmo cannot run, or a tensor it would not use,
 * and ModelFormatError for an inconsistent config, a missing required tensor or a tensor of the wrong shape.
 * Every scalar is checked against the tensor table before anything per layer is built, so a corrupt count fails
 * at once with bounded memory.
 */
export function validateModel(config: ModelConfig, tensors: readonly TensorInfo[]): void {
  familyOf(config.arch);
  for (const t of tensors) {
    if (!SUPPORTED_TENSOR_TYPES.includes(t.type)) {
      throw new UnsupportedModelError(
        `Tensor "${t.name}" has type ${ggmlTypeName(t.type)}; llmo supports ${SUPPORTED_TENSOR_TYPES.map(ggmlTypeName).join(', ')}. Use a model quantized to one of those.`,
      );
    }
    if (t.shape.length === 1 && !VECTOR_TYPES.includes(t.type)) {
      throw new UnsupportedModelError(
        `Tensor "${t.name}" is a vector (norm weight or bias) stored as ${ggmlTypeName(t.type)}; llmo reads vectors stored as F32, F16 or BF16 (llama.cpp keeps them F32). Re-convert the model.`,
      );
    }
  }
  const blocks = blocksInFile(tensors);
  if (config.nLayers !== blocks) {
    throw new ModelFormatError(
      `The config says the model has ${config.nLayers} layers (block_count / num_hidden_layers) but the file has tensors for ${blocks}: ` +
        'the header is corrupt or the config does not belong to these weights.',
    );
  }
  if (config.contextLength > MAX_CONTEXT) {
    throw new ModelFormatError(`The config says the context is ${config.contextLength} tokens (more than ${MAX_CONTEXT}): the header is corrupt.`);
  }
  if (config.nHeads % config.nKvHeads !== 0) {
    throw new ModelFormatError(`The model has ${config.nHeads} attention heads and ${config.nKvHeads} KV heads; the first must be a multiple of the second.`);
  }
  if (config.headDim % 2 !== 0) throw new ModelFormatError(`Head size ${config.headDim} is odd; RoPE needs an even head size.`);

  const byName = new Map(tensors.map((t) => [t.name, t]));
  const shapes = expectedTensorShapes(config);
  const rf = byName.get('rope_freqs.weight');
  const pairs = (config.ropeDim ?? config.headDim) / 2;
  if (rf) shapes.set('rope_freqs.weight', [pairs]);
  const s = config.ropeScaling;
  if (s?.type === 'longrope' && !s.long) for (const n of ['rope_factors_long.weight', 'rope_factors_short.weight']) shapes.set(n, [pairs]);
  for (const [name, shape] of shapes) {
    const t = byName.get(name);
    if (!t) {
      throw new ModelFormatError(`The model is missing tensor "${name}" (expected shape [${shape.join(', ')}]): the file is incomplete or not a ${config.arch} model.`);
    }
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
      throw new ModelFormatError(`Tensor "${name}" has shape [${t.shape.join(', ')}] but the config implies [${shape.join(', ')}].`);
    }
  }
  // A checkpoint may carry lm_head beside tied embeddings (a copy); a family may name heads it never runs (BERT's pooler).
  const ignored = familyOf(config.arch).ignoredTensors;
  const ignorable = (name: string) => (config.tiedEmbeddings && name === 'output.weight') || !!ignored?.test(name);
  const unused = tensors.filter((t) => !shapes.has(t.name) && !ignorable(t.name)).map((t) => `"${t.name}"`);
  if (unused.length) {
    throw new UnsupportedModelError(
      `The model has ${unused.length} tensor(s) llmo's ${config.arch} graph would not use (${unused.slice(0, 4).join(', ')}${unused.length > 4 ? ', ...' : ''}); ` +
        'running without them would give wrong output. The model is a variant llmo does not support, or its file is damaged.',
    );
  }
  if (rf && rf.type !== GgmlType.F32) {
    throw new UnsupportedModelError(`Tensor "rope_freqs.weight" has type ${ggmlTypeName(rf.type)}; it must be F32.`);
  }
}
