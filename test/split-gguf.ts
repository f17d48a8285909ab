/**
 * Splits a GGUF file into N shards the way llama.cpp's gguf-split does (`split.no`, `split.count`,
 * `split.tensors.count`; shard 1 keeps all metadata, every shard is a complete GGUF holding a run of the tensors),
 * so tests can load a split model without shipping one. Test-server side only.
 */
import { parseGgufHeader, type GgufHeader } from '../src/formats/gguf.ts';
import { writeGguf, type GgufKind, type GgufWriteValue } from '../src/formats/gguf-writer.ts';

const SCALAR: Record<number, GgufKind> = { 0: 'u8', 1: 'i8', 2: 'u16', 3: 'i16', 4: 'u32', 5: 'i32', 6: 'f32', 7: 'bool', 8: 'string', 10: 'u64', 11: 'i64', 12: 'f64' };
const WIDTH: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** The GGUF kind of each metadata key, read from the raw header (the parsed values alone lose u32 vs f32). */
function metadataKinds(bytes: Uint8Array): Map<string, GgufKind> {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 16;
  const nKv = Number(v.getBigUint64(p, true));
  p += 8;
  const str = () => {
    const n = Number(v.getBigUint64(p, true));
    p += 8;
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const skip = (type: number) => {
    if (type === 8) str();
    else p += WIDTH[type];
  };
  const kinds = new Map<string, GgufKind>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = v.getUint32(p, true);
    p += 4;
    if (type === 9) {
      const et = v.getUint32(p, true);
      const n = Number(v.getBigUint64(p + 4, true));
      p += 12;
      if (et === 8) for (let j = 0; j < n; j++) str();
      else p += WIDTH[et] * n;
      kinds.set(key, `${SCALAR[et]}[]` as GgufKind);
    } else {
      skip(type);
      kinds.set(key, SCALAR[type]);
    }
  }
  return kinds;
}

export function splitGguf(bytes: Uint8Array, count: number): Uint8Array[] {
  const header = parseGgufHeader(bytes) as GgufHeader;
  const kinds = metadataKinds(bytes);
  const tensors = [...header.tensors].sort((a, b) => a.offset - b.offset);
  const per = Math.ceil(tensors.length / count);
  const arch = header.metadata.get('general.architecture') as string;
  return Array.from({ length: count }, (_, i) => {
    const mine = tensors.slice(i * per, (i + 1) * per);
    const split: [string, GgufWriteValue, GgufKind][] = [
      ['split.no', i, 'u16'], ['split.count', count, 'u16'], ['split.tensors.count', tensors.length, 'i32'],
    ];
    const metadata: [string, GgufWriteValue, GgufKind][] = i === 0
      ? [...[...header.metadata].map(([k, val]) => [k, val as GgufWriteValue, kinds.get(k)!] as [string, GgufWriteValue, GgufKind]), ...split]
      : [['general.architecture', arch, 'string'], ...split];
    return writeGguf({
      metadata,
      alignment: header.alignment,
      tensors: mine.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: bytes.subarray(t.offset, t.offset + t.byteLength) })),
    });
  });
}
