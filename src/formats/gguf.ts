/**
 * GGUF (v2/v3) header parser: metadata key/values and tensor descriptions. Tensor data is not read here;
 * the loader streams it from `TensorInfo.offset` later.
 *
 * Format (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 kv count, kv pairs, tensor infos,
 * padding up to `general.alignment`, tensor data. Strings are u64 length + UTF-8 bytes.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import type { GgmlType, TensorInfo } from '../model/types.ts';
import { ggmlBlockSize, ggmlTypeByteLength, ggmlTypeName } from './ggml-types.ts';

/**
 * A metadata value as returned by the parser:
 * - u8/i8/u16/i16/u32/i32/f32/f64 scalars: `number`;
 * - u64/i64 scalars: `number` when it is a safe integer, else `bigint`;
 * - bool: `boolean`; string: `string`;
 * - arrays: `string[]` for strings, `boolean[]` for bools, typed arrays for fixed-width numbers
 *   (Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array),
 *   and `(number | bigint)[]` for u64/i64 (each element as for scalars). Nested arrays are rejected.
 */
export type GgufArray =
  | string[]
  | boolean[]
  | (number | bigint)[]
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;
export type GgufValue = number | bigint | boolean | string | GgufArray;
export type GgufMetadata = ReadonlyMap<string, GgufValue>;

export interface GgufHeader {
  /** 2 or 3 (they differ only in v1's 32-bit counts, which we refuse). */
  version: number;
  metadata: Map<string, GgufValue>;
  /** Shapes row-major (GGUF `ne` reversed); offsets absolute. */
  tensors: TensorInfo[];
  /** `general.alignment`, default 32. */
  alignment: number;
  /** Absolute offset of the tensor data section (end of header rounded up to `alignment`). */
  dataOffset: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
const DEFAULT_ALIGNMENT = 32;
const GGML_MAX_DIMS = 4;
// Sanity limits: far above any real model, low enough that a corrupt count fails fast instead of looping
// or allocating gigabytes.
const MAX_TENSORS = 1 << 20;
const MAX_KV = 1 << 20;
const MAX_STRING_BYTES = 1 << 28;
const MAX_ARRAY_LENGTH = 1 << 28;

enum ValueType {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
}

/** Byte width of fixed-size value types (strings and arrays are variable). */
const FIXED_WIDTH: Record<number, number> = {
  [ValueType.U8]: 1, [ValueType.I8]: 1, [ValueType.BOOL]: 1,
  [ValueType.U16]: 2, [ValueType.I16]: 2,
  [ValueType.U32]: 4, [ValueType.I32]: 4, [ValueType.F32]: 4,
  [ValueType.U64]: 8, [ValueType.I64]: 8, [ValueType.F64]: 8,
};

/** Thrown inside the reader when the buffer ends before the header does; caught by `parseGgufHeader`. */
class NeedMore {
  constructor(readonly total: number) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Ensures `n` more bytes are present, else asks for at least that many. */
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new NeedMore(this.pos + n);
  }
  u8(): number { this.need(1); return this.view.getUint8(this.pos++); }
  i8(): number { this.need(1); return this.view.getInt8(this.pos++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(): number { this.need(2); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(): number { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(): number { this.need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(): number { this.need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(): bigint { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64(): bigint { this.need(8); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }

  /** A u64 that must fit in a JS number and stay below `max` (counts, lengths, offsets). */
  count(what: string, max: number): number {
    const v = this.u64();
    if (v > BigInt(max)) {
      throw new ModelFormatError(`GGUF ${what} is ${v}, more than the limit of ${max}: the file is corrupt.`);
    }
    return Number(v);
  }

  string(what: string): string {
    const len = this.count(`${what} length`, MAX_STRING_BYTES);
    this.need(len);
    const start = this.pos;
    this.pos += len;
    return decodeUtf8(this.bytes, start, this.pos);
  }

  /** Copies `n` elements of `width` bytes into a fresh aligned buffer (the source offset may be unaligned). */
  rawCopy(n: number, width: number): ArrayBuffer {
    const byteLen = n * width;
    this.need(byteLen);
    const out = new ArrayBuffer(byteLen);
    new Uint8Array(out).set(this.bytes.subarray(this.pos, this.pos + byteLen));
    this.pos += byteLen;
    return out;
  }
}

/** ASCII fast path for the many short vocab strings; everything else goes to TextDecoder. */
function decodeUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 32) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = bytes[i];
      if (b >= 0x80) return utf8.decode(bytes.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return utf8.decode(bytes.subarray(start, end));
}

function bigToNumberIfSafe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readScalar(r: Reader, type: number, key: string): number | bigint | boolean | string {
  switch (type) {
    case ValueType.U8: return r.u8();
    case ValueType.I8: return r.i8();
    case ValueType.U16: return r.u16();
    case ValueType.I16: return r.i16();
    case ValueType.U32: return r.u32();
    case ValueType.I32: return r.i32();
    case ValueType.F32: return r.f32();
    case ValueType.F64: return r.f64();
    case ValueType.U64: return bigToNumberIfSafe(r.u64());
    case ValueType.I64: return bigToNumberIfSafe(r.i64());
    case ValueType.BOOL: {
      const b = r.u8();
      if (b > 1) throw new ModelFormatError(`GGUF key "${key}" holds bool byte ${b} (not 0 or 1): the file is corrupt.`);
      return b === 1;
    }
    case ValueType.STRING: return r.string(`value of "${key}"`);
    default:
      throw new ModelFormatError(`GGUF key "${key}" has unknown value type ${type}: the file is corrupt or from a newer format.`);
  }
}

function readArray(r: Reader, key: string): GgufArray {
  const elemType = r.u32();
  const n = r.count(`array length of "${key}"`, MAX_ARRAY_LENGTH);
  const width = FIXED_WIDTH[elemType];
  if (width !== undefined && elemType !== ValueType.BOOL && elemType !== ValueType.U64 && elemType !== ValueType.I64) {
    const buf = r.rawCopy(n, width);
    switch (elemType) {
      case ValueType.U8: return new Uint8Array(buf);
      case ValueType.I8: return new Int8Array(buf);
      case ValueType.U16: return new Uint16Array(buf);
      case ValueType.I16: return new Int16Array(buf);
      case ValueType.U32: return new Uint32Array(buf);
      case ValueType.I32: return new Int32Array(buf);
      case ValueType.F32: return new Float32Array(buf);
      case ValueType.F64: return new Float64Array(buf);
    }
  }
  // Ask for a lower bound of the whole array at once rather than element by element (a string is >= 8 bytes).
  r.need(n * (elemType === ValueType.STRING ? 8 : (width ?? 0)));
  if (elemType === ValueType.STRING) {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = r.string(`element ${i} of "${key}"`);
    return out;
  }
  if (elemType === ValueType.BOOL) {
    const out = new Array<boolean>(n);
    for (let i = 0; i < n; i++) out[i] = readScalar(r, elemType, key) as boolean;
    return out;
  }
  if (elemType === ValueType.U64 || elemType === ValueType.I64) {
    const out = new Array<number | bigint>(n);
    for (let i = 0; i < n; i++) out[i] = readScalar(r, elemType, key) as number | bigint;
    return out;
  }
  if (elemType === ValueType.ARRAY) {
    throw new ModelFormatError(`GGUF key "${key}" is a nested array, which GGUF readers do not support: the file is corrupt.`);
  }
  throw new ModelFormatError(`GGUF key "${key}" is an array of unknown value type ${elemType}: the file is corrupt or from a newer format.`);
}

function readValue(r: Reader, key: string): GgufValue {
  const type = r.u32();
  return type === ValueType.ARRAY ? readArray(r, key) : readScalar(r, type, key);
}

/**
 * Parses the header from the first bytes of a GGUF file.
 *
 * Returns `{ needBytes }` (a total prefix length worth having, always > `bytes.length`) when `bytes` ends inside
 * the header: read that many bytes (or the whole file if it is shorter) and call again. If the whole file was
 * given and it still asks for more, the file is truncated. With `fileSize`, a header that claims more bytes than
 * the file has fails at once, and every tensor's data must lie inside the file.
 * Throws ModelFormatError for corrupt input (naming the tensor or key) and UnsupportedModelError for GGUF v1 and
 * tensor type ids ggml does not define.
 */
export function parseGgufHeader(bytes: Uint8Array, options: { fileSize?: number } = {}): GgufHeader | { needBytes: number } {
  const { fileSize } = options;
  try {
    const header = parse(new Reader(bytes));
    checkTensorTable(header, fileSize);
    return header;
  } catch (e) {
    if (e instanceof NeedMore) {
      if (fileSize !== undefined && e.total > fileSize) {
        throw new ModelFormatError(
          `The GGUF header runs past the end of the file (it needs at least ${e.total} bytes, the file has ${fileSize}): ` +
            'the file is truncated or a count or length in its header is corrupt.',
        );
      }
      // Grow geometrically so a streaming caller re-parses O(log n) times, not once per small read.
      const want = Math.max(e.total, Math.min(bytes.length * 2, bytes.length + (64 << 20)), 4096);
      return { needBytes: fileSize === undefined ? want : Math.min(want, Math.max(fileSize, e.total)) };
    }
    throw e;
  }
}

/**
 * Tensor data is packed in table order, each tensor starting where the one before ends (rounded up to the
 * alignment), and the last ends (padded) at the end of the file: what ggml writes; llama.cpp requires the packing. Checked here so that a
 * corrupt offset, shape or type fails with the tensor's name, and the loader (which reads tensors in offset order)
 * never meets a backwards seek or a short read.
 */
function checkTensorTable(h: GgufHeader, fileSize: number | undefined): void {
  let expected = h.dataOffset;
  let prev: TensorInfo | undefined;
  for (const t of h.tensors) {
    if (t.offset !== expected) {
      const where = prev ? `the tensor before it, "${prev.name}" (${describe(prev)}), ends at byte ${expected}` : `the data section starts at byte ${expected}`;
      throw new ModelFormatError(
        `GGUF tensor "${t.name}" (${describe(t)}) starts at byte ${t.offset}, but ${where}: ` +
          'a data offset, shape or type in the header is corrupt.',
      );
    }
    const end = t.offset + t.byteLength;
    if (fileSize !== undefined && end > fileSize) {
      throw new ModelFormatError(
        `GGUF tensor "${t.name}" (${describe(t)}) runs to byte ${end} but the file has ${fileSize} bytes: ` +
          'the file is truncated (an interrupted download?) or its header is corrupt.',
      );
    }
    expected = Math.ceil(end / h.alignment) * h.alignment;
    if (!Number.isSafeInteger(expected)) {
      throw new ModelFormatError(`GGUF tensor "${t.name}" (${describe(t)}) ends beyond 2^53 bytes: the file is corrupt.`);
    }
    prev = t;
  }
  // ggml pads the last tensor too, so a longer file has data no tensor claims: a tensor count or a description
  // lost from the header (the other tensors then read shifted bytes).
  if (fileSize !== undefined && h.tensors.length > 0 && fileSize - expected >= h.alignment) {
    throw new ModelFormatError(
      `The GGUF file has ${fileSize - expected} bytes after the last tensor's data (byte ${expected}) that no tensor describes: ` +
        'the tensor count or a tensor description in the header is corrupt.',
    );
  }
}

const describe = (t: TensorInfo) => `${ggmlTypeName(t.type)} [${t.shape.join(', ')}]`;

function parse(r: Reader): GgufHeader {
  const magic = r.u32();
  if (magic !== GGUF_MAGIC) {
    throw new ModelFormatError(
      `Not a GGUF file: the first 4 bytes are 0x${magic.toString(16).padStart(8, '0')} (little-endian), not "GGUF". Check the URL points to a .gguf model file.`,
    );
  }
  const version = r.u32();
  if (version === 1) {
    throw new UnsupportedModelError('GGUF version 1 is not supported (it predates 64-bit counts); re-convert the model with a current llama.cpp.');
  }
  if ((version & 0xffff) === 0 && version !== 0) {
    throw new ModelFormatError(`GGUF version field reads ${version}: this looks like a big-endian GGUF file, which llmo cannot read.`);
  }
  if (version !== 2 && version !== 3) {
    throw new ModelFormatError(`Unknown GGUF version ${version} (llmo reads versions 2 and 3).`);
  }

  const nTensors = r.count('tensor count', MAX_TENSORS);
  const nKv = r.count('metadata key count', MAX_KV);

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.string(`key #${i}`);
    if (metadata.has(key)) throw new ModelFormatError(`GGUF metadata key "${key}" appears twice: the file is corrupt.`);
    metadata.set(key, readValue(r, key));
  }

  let alignment = DEFAULT_ALIGNMENT;
  const alignValue = metadata.get('general.alignment');
  if (alignValue !== undefined) {
    if (typeof alignValue !== 'number' || !Number.isInteger(alignValue) || alignValue <= 0 || (alignValue & (alignValue - 1)) !== 0) {
      throw new ModelFormatError(`GGUF general.alignment is ${String(alignValue)}; it must be a power of two.`);
    }
    alignment = alignValue;
  }

  const raw: { name: string; ne: number[]; type: number; rel: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = r.string(`name of tensor #${i}`);
    if (names.has(name)) throw new ModelFormatError(`GGUF tensor "${name}" appears twice: the file is corrupt.`);
    names.add(name);
    const nDims = r.u32();
    if (nDims > GGML_MAX_DIMS) {
      throw new ModelFormatError(`GGUF tensor "${name}" has ${nDims} dimensions (at most ${GGML_MAX_DIMS}): the file is corrupt.`);
    }
    const ne: number[] = [];
    let elems = 1;
    for (let d = 0; d < nDims; d++) {
      const n = r.count(`dimension ${d} of tensor "${name}"`, Number.MAX_SAFE_INTEGER);
      ne.push(n);
      elems *= n;
      if (!Number.isSafeInteger(elems)) {
        throw new ModelFormatError(`GGUF tensor "${name}" has an impossible element count (shape ${ne.join('x')}...): the file is corrupt.`);
      }
    }
    const type = r.u32();
    const rel = r.count(`data offset of tensor "${name}"`, Number.MAX_SAFE_INTEGER);
    raw.push({ name, ne, type, rel });
  }

  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  const tensors = raw.map(({ name, ne, type, rel }): TensorInfo => {
    if (rel % alignment !== 0) {
      throw new ModelFormatError(`GGUF tensor "${name}" has data offset ${rel}, not a multiple of the alignment ${alignment}: the file is corrupt.`);
    }
    return { name, type: type as GgmlType, shape: ne.slice().reverse(), offset: dataOffset + rel, byteLength: tensorBytes(name, type, ne) };
  });

  return { version, metadata, tensors, alignment, dataOffset };
}

function tensorBytes(name: string, type: number, ne: number[]): number {
  const elems = ne.reduce((a, b) => a * b, 1);
  try {
    // Rows are whole blocks in ggml, so the innermost dimension (not just the total) must divide evenly.
    const block = ggmlBlockSize(type);
    if (ne.length > 0 && ne[0] % block !== 0) {
      throw new ModelFormatError(`its row length ${ne[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${block}`);
    }
    return ggmlTypeByteLength(type, elems);
  } catch (e) {
    if (e instanceof UnsupportedModelError) {
      throw new UnsupportedModelError(`GGUF tensor "${name}": ${e.message}`, { cause: e });
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new ModelFormatError(`GGUF tensor "${name}" (type ${ggmlTypeName(type)}, shape ${ne.slice().reverse().join('x')}): ${why}`, { cause: e });
  }
}
