import { GgmlType } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';

/**
 * Elements per block and bytes per block of every ggml type id (ggml's `type_traits`), including types llmo cannot
 * compute with: a header that uses them still parses and its tensor table is still checked, and the refusal names
 * the type (model-checks.ts `validateModel`). Ids 4, 5, 31-33 and 36-38 were removed from ggml.
 */
const BLOCK: Record<number, { elems: number; bytes: number; name: string }> = {
  [GgmlType.F32]: { elems: 1, bytes: 4, name: 'F32' },
  [GgmlType.F16]: { elems: 1, bytes: 2, name: 'F16' },
  [GgmlType.BF16]: { elems: 1, bytes: 2, name: 'BF16' },
  [GgmlType.Q4_0]: { elems: 32, bytes: 18, name: 'Q4_0' },
  [GgmlType.Q4_1]: { elems: 32, bytes: 20, name: 'Q4_1' },
  [GgmlType.Q5_0]: { elems: 32, bytes: 22, name: 'Q5_0' },
  [GgmlType.Q5_1]: { elems: 32, bytes: 24, name: 'Q5_1' },
  [GgmlType.Q8_0]: { elems: 32, bytes: 34, name: 'Q8_0' },
  [GgmlType.Q8_1]: { elems: 32, bytes: 36, name: 'Q8_1' },
  [GgmlType.Q2_K]: { elems: 256, bytes: 84, name: 'Q2_K' },
  [GgmlType.Q3_K]: { elems: 256, bytes: 110, name: 'Q3_K' },
  [GgmlType.Q4_K]: { elems: 256, bytes: 144, name: 'Q4_K' },
  [GgmlType.Q5_K]: { elems: 256, bytes: 176, name: 'Q5_K' },
  [GgmlType.Q6_K]: { elems: 256, bytes: 210, name: 'Q6_K' },
  [GgmlType.Q8_K]: { elems: 256, bytes: 292, name: 'Q8_K' },
  [GgmlType.I8]: { elems: 1, bytes: 1, name: 'I8' },
  [GgmlType.I16]: { elems: 1, bytes: 2, name: 'I16' },
  [GgmlType.I32]: { elems: 1, bytes: 4, name: 'I32' },
  [GgmlType.I64]: { elems: 1, bytes: 8, name: 'I64' },
  [GgmlType.F64]: { elems: 1, bytes: 8, name: 'F64' },
  // ggml ids without a GgmlType member (yet): sized so headers using them parse.
  [GgmlType.IQ2_XXS]: { elems: 256, bytes: 66, name: 'IQ2_XXS' },
  17: { elems: 256, bytes: 74, name: 'IQ2_XS' },
  18: { elems: 256, bytes: 98, name: 'IQ3_XXS' },
  19: { elems: 256, bytes: 50, name: 'IQ1_S' },
  20: { elems: 32, bytes: 18, name: 'IQ4_NL' },
  21: { elems: 256, bytes: 110, name: 'IQ3_S' },
  22: { elems: 256, bytes: 82, name: 'IQ2_S' },
  23: { elems: 256, bytes: 136, name: 'IQ4_XS' },
  29: { elems: 256, bytes: 56, name: 'IQ1_M' },
  34: { elems: 256, bytes: 54, name: 'TQ1_0' },
  35: { elems: 256, bytes: 66, name: 'TQ2_0' },
  39: { elems: 32, bytes: 17, name: 'MXFP4' },
};

/** Human name of a ggml type id (`Q4_0`), or `type id N` for ids ggml did not define when this table was written. */
export function ggmlTypeName(type: number): string {
  return BLOCK[type]?.name ?? `type id ${type}`;
}

function block(type: number): { elems: number; bytes: number; name: string } {
  const b = BLOCK[type];
  if (!b) {
    throw new UnsupportedModelError(
      `Tensor type id ${type} is not a ggml type llmo knows (a newer llama.cpp type, or a damaged file). ` +
        'Use a model quantized to a common type (Q4_0, Q8_0, F16).',
    );
  }
  return b;
}

/** Elements per quantization block (1 for plain float/int types). Throws UnsupportedModelError for unknown ids. */
export function ggmlBlockSize(type: number): number {
  return block(type).elems;
}

/** Bytes taken by `nElements` elements of `type`. Throws if the count is not a whole number of blocks. */
export function ggmlTypeByteLength(type: number, nElements: number): number {
  const b = block(type);
  if (nElements % b.elems !== 0) {
    throw new ModelFormatError(`A ${b.name} tensor of ${nElements} elements is not a whole number of ${b.elems}-element blocks.`);
  }
  return (nElements / b.elems) * b.bytes;
}
