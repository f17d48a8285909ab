/**
 * safetensors header parsing: an 8-byte little-endian header length, a JSON header naming every tensor's dtype,
 * shape and byte range, then the raw data. Tensor names are mapped to canonical GGUF names so the rest of the
 * engine sees one naming scheme.
 */
import { GgmlType, type TensorInfo } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import type { HfNameMap } from '../families/spec.ts';
import { canonicalName, hfName } from '../families/tensors.ts';
import { llama } from '../families/llama.ts';

export interface SafetensorsHeader {
  /** Tensors with canonical GGUF names, absolute offsets, in file order. */
  tensors: TensorInfo[];
  /** Absolute offset of the data section (8 + header length). */
  dataOffset: number;
  /** The optional `__metadata__` string map. */
  metadata: Record<string, string>;
  /** Names of the non-weight buffers the file carries (`NON_WEIGHT_BUFFER`), left unread. */
  skipped: string[];
}

/** safetensors dtypes llmo reads, with their ggml type and element size. */
export const SAFETENSORS_DTYPES: Record<string, { type: GgmlType; bytes: number }> = {
  F32: { type: GgmlType.F32, bytes: 4 },
  F16: { type: GgmlType.F16, bytes: 2 },
  BF16: { type: GgmlType.BF16, bytes: 2 },
};

/** Element sizes of the other dtypes a checkpoint may hold: such tensors are index buffers, never weights llmo reads. */
const OTHER_DTYPE_BYTES: Record<string, number> = {
  F64: 8, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/** Bytes per element of a safetensors dtype (undefined: unknown dtype). */
export function safetensorsDtypeBytes(dtype: string): number | undefined {
  return SAFETENSORS_DTYPES[dtype]?.bytes ?? OTHER_DTYPE_BYTES[dtype];
}

/**
 * Buffers HF checkpoints save beside the weights: BERT's int64 `embeddings.position_ids` / `token_type_ids` (an
 * arange and zeros the graph makes itself), older checkpoints' RoPE `inv_freq` caches. Skipped whatever their dtype.
 */
export const NON_WEIGHT_BUFFER = /(^|\.)(position_ids|token_type_ids|inv_freq|original_inv_freq)$/;

/** Headers larger than this are not plausible model files (HF caps them at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** HF transformers tensor name -> canonical GGUF name (llama's names unless `map` is given); unknown names unchanged. */
export function canonicalTensorName(name: string, map: HfNameMap = llama.hfNames): string {
  return canonicalName(name, map);
}

/** Canonical GGUF name -> HF transformers name (inverse of `canonicalTensorName`); unknown names unchanged. */
export function hfTensorName(canonical: string, map: HfNameMap = llama.hfNames): string {
  return hfName(canonical, map);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Parse the header of a safetensors file from its first bytes. Returns `{needBytes}` (the total prefix length
 * needed) when `bytes` is too short to hold the header. With `fileSize`, tensor ranges are checked against it;
 * `names` is the family's HF name map (families/*.ts; llama's by default).
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  options: { fileSize?: number; fileIndex?: number; names?: HfNameMap } = {},
): SafetensorsHeader | { needBytes: number } {
  if (bytes.byteLength < 8) return { needBytes: 8 };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLen = hi * 2 ** 32 + lo;
  if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
    throw new ModelFormatError(
      `safetensors header length ${headerLen} is implausible: the file is not a safetensors file or is corrupt.`,
    );
  }
  const dataOffset = 8 + headerLen;
  if (bytes.byteLength < dataOffset) return { needBytes: dataOffset };

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataOffset)));
  } catch (e) {
    throw new ModelFormatError('safetensors header is not valid UTF-8 JSON: the file is corrupt or not a safetensors file.', {
      cause: e,
    });
  }
  if (!isRecord(json)) throw new ModelFormatError('safetensors header must be a JSON object of tensors.');

  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  const skipped: string[] = [];
  /** Every byte range, weights and skipped buffers alike, for the overlap check. */
  const ranges: { name: string; start: number; end: number }[] = [];
  const seen = new Map<string, string>();
  const dataSize = options.fileSize === undefined ? undefined : options.fileSize - dataOffset;
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(entry)) throw new ModelFormatError('safetensors `__metadata__` must be an object of strings.');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new ModelFormatError(`safetensors metadata value of "${k}" must be a string.`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isRecord(entry)) throw new ModelFormatError(`safetensors entry "${name}" is not an object.`);
    const { dtype, shape, data_offsets: range } = entry;
    if (typeof dtype !== 'string') throw new ModelFormatError(`safetensors tensor "${name}" has no dtype.`);
    const dt = SAFETENSORS_DTYPES[dtype];
    const skip = NON_WEIGHT_BUFFER.test(name);
    const elementBytes = skip ? safetensorsDtypeBytes(dtype) : dt?.bytes;
    if (elementBytes === undefined) {
      throw new UnsupportedModelError(
        `safetensors tensor "${name}" has dtype ${dtype}; llmo reads F32, F16 and BF16 safetensors only. Convert the model to one of those (or to GGUF).`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isNonNegInt)) {
      throw new ModelFormatError(`safetensors tensor "${name}" has an invalid shape ${JSON.stringify(shape)}.`);
    }
    if (!Array.isArray(range) || range.length !== 2 || !isNonNegInt(range[0]) || !isNonNegInt(range[1]) || range[1] < range[0]) {
      throw new ModelFormatError(`safetensors tensor "${name}" has invalid data_offsets ${JSON.stringify(range)}.`);
    }
    const dims = shape as number[];
    const elements = dims.reduce((a, b) => a * b, 1);
    const byteLength = range[1] - range[0];
    if (elements * elementBytes !== byteLength) {
      throw new ModelFormatError(
        `safetensors tensor "${name}" (${dtype} [${dims.join(', ')}]) needs ${elements * elementBytes} bytes but its data_offsets span ${byteLength}: the header is corrupt.`,
      );
    }
    if (dataSize !== undefined && range[1] > dataSize) {
      throw new ModelFormatError(
        `safetensors tensor "${name}" ends at byte ${dataOffset + range[1]} but the file has ${options.fileSize} bytes: the file is truncated.`,
      );
    }
    ranges.push({ name, start: range[0], end: range[1] });
    if (skip || !dt) {
      skipped.push(name);
      continue;
    }
    const canonical = canonicalTensorName(name, options.names);
    const prev = seen.get(canonical);
    if (prev !== undefined) {
      throw new ModelFormatError(`safetensors tensors "${prev}" and "${name}" both map to "${canonical}".`);
    }
    seen.set(canonical, name);
    const info: TensorInfo = { name: canonical, type: dt.type, shape: dims.slice(), offset: dataOffset + range[0], byteLength };
    if (options.fileIndex !== undefined) info.fileIndex = options.fileIndex;
    tensors.push(info);
  }
  tensors.sort((a, b) => a.offset - b.offset);
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].start < ranges[i - 1].end) {
      throw new ModelFormatError(`safetensors tensors "${ranges[i - 1].name}" and "${ranges[i].name}" overlap: the header is corrupt.`);
    }
  }
  return { tensors, dataOffset, metadata, skipped };
}
