/**
 * Where each field of a (well-formed) GGUF header sits, so the corrupt-file generator can damage one field at a time:
 * counts, each metadata entry's key / type / value (array element type and length), each tensor's dims / type /
 * offset. Written independently of src/formats/gguf.ts (the code under test).
 */
const WIDTH: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;

export interface KvField {
  key: string;
  /** Position of the key's u64 length. */
  keyPos: number;
  /** Position of the u32 value type. */
  typePos: number;
  type: number;
  /** Position of the value (a scalar, a string's u64 length, or an array's u32 element type). */
  valuePos: number;
  elemType?: number;
  /** Array length (arrays) at `valuePos + 4`. */
  length?: number;
}

export interface TensorField {
  name: string;
  nDimsPos: number;
  nDims: number;
  /** Positions of the u64 dims (innermost first). */
  dimPos: number[];
  dims: number[];
  typePos: number;
  type: number;
  /** Position of the u64 data offset (relative to the data section). */
  offsetPos: number;
  offset: number;
}

export interface GgufLayout {
  kvs: KvField[];
  tensors: TensorField[];
  /** End of the tensor infos (before alignment padding). */
  headerEnd: number;
  /** Start of the tensor data. */
  dataOffset: number;
}

export function ggufLayout(bytes: Uint8Array): GgufLayout {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 8;
  const u32 = () => { const x = v.getUint32(p, true); p += 4; return x; };
  const u64 = () => { const x = Number(v.getBigUint64(p, true)); p += 8; return x; };
  const str = () => { const n = u64(); const s = new TextDecoder().decode(bytes.subarray(p, p + n)); p += n; return s; };
  const nTensors = u64();
  const nKv = u64();
  const kvs: KvField[] = [];
  let alignment = 32;
  for (let i = 0; i < nKv; i++) {
    const keyPos = p;
    const key = str();
    const typePos = p;
    const type = u32();
    const valuePos = p;
    const f: KvField = { key, keyPos, typePos, type, valuePos };
    if (type === ARRAY) {
      f.elemType = u32();
      f.length = u64();
      if (f.elemType === STRING) for (let j = 0; j < f.length; j++) str();
      else p += WIDTH[f.elemType] * f.length;
    } else if (type === STRING) {
      str();
    } else {
      if (key === 'general.alignment') alignment = v.getUint32(p, true);
      p += WIDTH[type];
    }
    kvs.push(f);
  }
  const tensors: TensorField[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = str();
    const nDimsPos = p;
    const nDims = u32();
    const dimPos: number[] = [];
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      dimPos.push(p);
      dims.push(u64());
    }
    const typePos = p;
    const type = u32();
    const offsetPos = p;
    const offset = u64();
    tensors.push({ name, nDimsPos, nDims, dimPos, dims, typePos, type, offsetPos, offset });
  }
  return { kvs, tensors, headerEnd: p, dataOffset: Math.ceil(p / alignment) * alignment };
}
