/**
 * The `quantize` load option: which format each float matrix of the model is converted to as it arrives. Either one
 * weight format for every matrix whose rows are whole blocks of it (`'q8_0'`, `'q4_k'`, …), or one of llama.cpp's
 * file types (`'q4_k_m'`, `'q5_k_m'`, …), whose per-tensor mix (formats/quant-mix.ts) gives some tensors more bits.
 */
import { InvalidRequestError } from '../errors.ts';
import { GgmlType, type ModelConfig, type TensorInfo } from '../model/types.ts';
import { ggmlBlockSize } from '../formats/ggml-types.ts';
import { QUANTIZABLE_FORMAT_IDS, weightFormat, weightFormatById, type WeightFormatSpec } from '../formats/weight-formats.ts';
import { isQuantMix, mixTensorType, QUANT_MIXES, type QuantMixId } from '../formats/quant-mix.ts';
import type { TensorMeta } from '../gpu/weights.ts';

export type QuantizeOption = { format: WeightFormatSpec } | { mix: QuantMixId };

const blockFormatIds = () => QUANTIZABLE_FORMAT_IDS.filter((i) => ggmlBlockSize(weightFormatById(i)!.type) > 1);

/** Checks the option before anything is fetched; InvalidRequestError lists the choices. */
export function parseQuantizeOption(id: string | undefined): QuantizeOption | undefined {
  if (id === undefined) return undefined;
  const key = id.toLowerCase();
  const f = weightFormatById(key);
  if (f?.quantize && ggmlBlockSize(f.type) > 1) return { format: f };
  if (isQuantMix(key)) return { mix: key };
  const mixes = Object.keys(QUANT_MIXES).filter((m) => !weightFormatById(m));
  throw new InvalidRequestError(
    `quantize: '${id}' is not a format llmo quantizes to; use one of ${blockFormatIds().join(', ')} (every matrix), or one ` +
      `of llama.cpp's mixes ${mixes.join(', ')}.`,
  );
}

const isFloat = (t: GgmlType) => t === GgmlType.F32 || t === GgmlType.F16 || t === GgmlType.BF16;

/** The target format of each arriving tensor (undefined: keep it as it is), once the model's config is known. */
export function quantizeChooser(o: QuantizeOption, config: ModelConfig, tensors: readonly TensorInfo[]): (t: TensorMeta) => WeightFormatSpec | undefined {
  if ('format' in o) {
    const elems = ggmlBlockSize(o.format.type);
    return (t) => (t.shape.length >= 2 && isFloat(t.type) && t.shape[t.shape.length - 1] % elems === 0 ? o.format : undefined);
  }
  const model = {
    nLayers: config.nLayers,
    gqa: config.nHeads / config.nKvHeads,
    hasOutput: tensors.some((t) => t.name === 'output.weight'),
  };
  return (t) => {
    if (!isFloat(t.type)) return undefined;
    const type = mixTensorType(o.mix, t.name, t.shape, model);
    const f = type === undefined || isFloat(type) ? undefined : weightFormat(type);
    return f?.quantize ? f : undefined;
  };
}
