import { GgmlType } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';

/** Elements per block and bytes per block of each ggml type (ggml's `type_traits`). */
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
};

/** Human name of a ggml type id (`Q4_0`), or `type #N` for ids we do not know. */
export function ggmlTypeName(type: number): string {
  return BLOCK[type]?.name ?? `type #${type}`;
}

/** Elements per quantization block (1 for plain float/int types). Throws for unknown ids. */
export function ggmlBlockSize(type: number): number {
  const b = BLOCK[type];
  if (!b) throw new ModelFormatError(`Unknown ggml tensor type id ${type}: the file is corrupt or from a newer llama.cpp.`);
  return b.elems;
}

/** Bytes taken by `nElements` elements of `type`. Throws if the count is not a whole number of blocks. */
export function ggmlTypeByteLength(type: number, nElements: number): number {
  const b = BLOCK[type];
  if (!b) throw new ModelFormatError(`Unknown ggml tensor type id ${type}: the file is corrupt or from a newer llama.cpp.`);
  if (nElements % b.elems !== 0) {
    throw new ModelFormatError(`A ${b.name} tensor of ${nElements} elements is not a whole number of ${b.elems}-element blocks.`);
  }
  return (nElements / b.elems) * b.bytes;
}
