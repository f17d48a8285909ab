/**
 * GGUF v3 writer (little endian): enough of the format to produce model fixtures that llama.cpp and our own
 * parser both read. Metadata value types follow llama.cpp's conventions (u32 counts, f32 hyperparameters,
 * i32 token types), chosen per value or inferred.
 */
import type { GgmlType } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';
import { ggmlBlockSize, ggmlTypeByteLength, ggmlTypeName } from './ggml-types.ts';

/** GGUF scalar kinds and the array kinds fixtures need. */
export type GgufKind =
  | 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64' | 'bool' | 'string'
  | 'string[]' | 'f32[]' | 'i32[]' | 'u32[]' | 'u8[]' | 'bool[]';

export type GgufWriteValue = string | number | bigint | boolean | readonly string[] | readonly number[] | readonly boolean[] | Float32Array | Int32Array | Uint32Array | Uint8Array;

export interface GgufTensorInput {
  name: string;
  type: GgmlType;
  /** Row-major shape (outermost first), as in TensorInfo; written as GGUF `ne` (reversed). */
  shape: readonly number[];
  /**
   * The tensor's bytes, or a function that writes them into the output file in place (its `dst` is exactly
   * the tensor's byte range): lets large fixtures avoid holding every tensor twice.
   */
  data: Uint8Array | ((dst: Uint8Array) => void);
}

export interface GgufWriteInput {
  /** Key, value and optionally the GGUF kind (inferred when left out: see `inferKind`). */
  metadata: ReadonlyArray<readonly [string, GgufWriteValue, GgufKind?]>;
  tensors: readonly GgufTensorInput[];
  /** Data alignment; written as `general.alignment` when not the default 32. */
  alignment?: number;
}

const TYPE_ID: Record<string, number> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, u64: 10, i64: 11, f64: 12,
};
const ARRAY_ID = 9;

/**
 * Kind for a value given without one: strings -> string, booleans -> bool, bigint -> u64/i64, integers ->
 * u32 (i32 if negative), other numbers -> f32; typed arrays by element type; plain arrays of strings ->
 * string[], of booleans -> bool[], of integers -> i32[], else f32[]. Pass the kind for floats that happen
 * to be integral (e.g. `rope.freq_base` 10000 must be `f32`).
 */
export function inferKind(value: GgufWriteValue): GgufKind {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return value < 0n ? 'i64' : 'u64';
  if (typeof value === 'number') return Number.isInteger(value) ? (value < 0 ? 'i32' : 'u32') : 'f32';
  if (value instanceof Float32Array) return 'f32[]';
  if (value instanceof Int32Array) return 'i32[]';
  if (value instanceof Uint32Array) return 'u32[]';
  if (value instanceof Uint8Array) return 'u8[]';
  const arr = value as readonly unknown[];
  if (arr.length > 0 && typeof arr[0] === 'string') return 'string[]';
  if (arr.length > 0 && typeof arr[0] === 'boolean') return 'bool[]';
  return arr.every((v) => Number.isInteger(v)) ? 'i32[]' : 'f32[]';
}

/** Growable little-endian byte sink for the header. */
class Sink {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  pos = 0;
  private readonly enc = new TextEncoder();

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.pos, v); this.pos += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.pos, v); this.pos += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.pos, v, true); this.pos += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.pos, v, true); this.pos += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.pos, v, true); this.pos += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.pos, v, true); this.pos += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.pos, v, true); this.pos += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.pos, v, true); this.pos += 8; }
  u64(v: number | bigint): void { this.reserve(8); this.view.setBigUint64(this.pos, BigInt(v), true); this.pos += 8; }
  i64(v: number | bigint): void { this.reserve(8); this.view.setBigInt64(this.pos, BigInt(v), true); this.pos += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  string(s: string): void {
    const b = this.enc.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
}

function fail(key: string, kind: string, value: unknown): never {
  throw new ModelFormatError(`GGUF metadata "${key}": value ${String(value).slice(0, 60)} cannot be written as ${kind}.`);
}

function writeScalar(s: Sink, key: string, kind: string, v: unknown): void {
  const isInt = (lo: number, hi: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  switch (kind) {
    case 'u8': if (!isInt(0, 0xff)) fail(key, kind, v); s.u8(v as number); return;
    case 'i8': if (!isInt(-0x80, 0x7f)) fail(key, kind, v); s.i8(v as number); return;
    case 'u16': if (!isInt(0, 0xffff)) fail(key, kind, v); s.u16(v as number); return;
    case 'i16': if (!isInt(-0x8000, 0x7fff)) fail(key, kind, v); s.i16(v as number); return;
    case 'u32': if (!isInt(0, 0xffffffff)) fail(key, kind, v); s.u32(v as number); return;
    case 'i32': if (!isInt(-0x80000000, 0x7fffffff)) fail(key, kind, v); s.i32(v as number); return;
    case 'f32': if (typeof v !== 'number') fail(key, kind, v); s.f32(v); return;
    case 'f64': if (typeof v !== 'number') fail(key, kind, v); s.f64(v); return;
    case 'u64': if (typeof v !== 'bigint' && !isInt(0, Number.MAX_SAFE_INTEGER)) fail(key, kind, v); s.u64(v as number | bigint); return;
    case 'i64': if (typeof v !== 'bigint' && !isInt(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) fail(key, kind, v); s.i64(v as number | bigint); return;
    case 'bool': if (typeof v !== 'boolean') fail(key, kind, v); s.u8(v ? 1 : 0); return;
    case 'string': if (typeof v !== 'string') fail(key, kind, v); s.string(v); return;
    default: fail(key, kind, v);
  }
}

function writeValue(s: Sink, key: string, value: GgufWriteValue, kind: GgufKind): void {
  if (kind.endsWith('[]')) {
    const elem = kind.slice(0, -2);
    if (typeof value !== 'object' || value === null || !('length' in value)) fail(key, kind, value);
    const arr = value as ArrayLike<unknown>;
    s.u32(ARRAY_ID);
    s.u32(TYPE_ID[elem]);
    s.u64(arr.length);
    for (let i = 0; i < arr.length; i++) writeScalar(s, key, elem, arr[i]);
    return;
  }
  s.u32(TYPE_ID[kind]);
  writeScalar(s, key, kind, value);
}

/** Serialize a complete GGUF v3 file. Tensor data is laid out in the given order, each aligned. */
export function writeGguf(input: GgufWriteInput): Uint8Array {
  const alignment = input.alignment ?? 32;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new ModelFormatError(`GGUF alignment ${alignment} must be a power of two.`);
  }
  const metadata: Array<readonly [string, GgufWriteValue, GgufKind?]> = [...input.metadata];
  const keys = new Set<string>();
  for (const [k] of metadata) {
    if (keys.has(k)) throw new ModelFormatError(`GGUF metadata key "${k}" given twice.`);
    keys.add(k);
  }
  if (alignment !== 32 && !keys.has('general.alignment')) metadata.push(['general.alignment', alignment, 'u32']);

  const s = new Sink();
  s.u32(0x46554747); // "GGUF"
  s.u32(3);
  s.u64(input.tensors.length);
  s.u64(metadata.length);
  for (const [key, value, kind] of metadata) {
    s.string(key);
    writeValue(s, key, value, kind ?? inferKind(value));
  }

  const offsets: number[] = [];
  let dataSize = 0;
  const names = new Set<string>();
  for (const t of input.tensors) {
    if (names.has(t.name)) throw new ModelFormatError(`GGUF tensor "${t.name}" given twice.`);
    names.add(t.name);
    const elems = t.shape.reduce((a, b) => a * b, 1);
    const inner = t.shape.length ? t.shape[t.shape.length - 1] : 1;
    if (inner % ggmlBlockSize(t.type) !== 0) {
      throw new ModelFormatError(`GGUF tensor "${t.name}": row length ${inner} is not a multiple of the ${ggmlTypeName(t.type)} block size.`);
    }
    const need = ggmlTypeByteLength(t.type, elems);
    if (typeof t.data !== 'function' && t.data.byteLength !== need) {
      throw new ModelFormatError(`GGUF tensor "${t.name}" (${ggmlTypeName(t.type)} [${t.shape.join(', ')}]) needs ${need} bytes of data, got ${t.data.byteLength}.`);
    }
    dataSize = Math.ceil(dataSize / alignment) * alignment;
    offsets.push(dataSize);
    dataSize += need;

    s.string(t.name);
    s.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) s.u64(t.shape[d]);
    s.u32(t.type);
    s.u64(offsets[offsets.length - 1]);
  }

  const dataOffset = Math.ceil(s.pos / alignment) * alignment;
  const out = new Uint8Array(dataOffset + Math.ceil(dataSize / alignment) * alignment);
  out.set(s.buf.subarray(0, s.pos));
  input.tensors.forEach((t, i) => {
    const at = dataOffset + offsets[i];
    if (typeof t.data === 'function') {
      const need = ggmlTypeByteLength(t.type, t.shape.reduce((a, b) => a * b, 1));
      t.data(out.subarray(at, at + need));
    } else {
      out.set(t.data, at);
    }
  });
  return out;
}
