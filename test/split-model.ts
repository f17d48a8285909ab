/**
 * Splits model files into shards for tests. GGUF: N shards the way llama.cpp's gguf-split does (`split.no`, `split.count`,
 * `split.tensors.count`; shard 1 keeps all metadata, every shard is a complete GGUF holding a run of the tensors),
 * so tests can load a split model without shipping one. Test-server side only.
 */
import { parseGgufHeader, type GgufHeader } from '../src/formats/gguf.ts';
import { writeGguf, type GgufKind, type GgufWriteValue } from './fixtures/gguf-writer.ts';

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

/**
 * Splits a safetensors file into N shards (`model-0000i-of-0000N.safetensors`) plus the
 * `model.safetensors.index.json` that maps each tensor to its shard, as `save_pretrained` does for large models.
 */
export function splitSafetensors(bytes: Uint8Array, count: number): Map<string, Uint8Array> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = bytes.subarray(8 + headerLen);
  const names = Object.keys(header).filter((k) => k !== '__metadata__').sort((a, b) => header[a].data_offsets[0] - header[b].data_offsets[0]);
  const per = Math.ceil(names.length / count);
  const pad = (n: number) => String(n).padStart(5, '0');
  const out = new Map<string, Uint8Array>();
  const weightMap: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const file = `model-${pad(i + 1)}-of-${pad(count)}.safetensors`;
    const mine = names.slice(i * per, (i + 1) * per);
    const h: Record<string, unknown> = { __metadata__: { format: 'pt' } };
    let off = 0;
    for (const n of mine) {
      const [b, e] = header[n].data_offsets;
      h[n] = { dtype: header[n].dtype, shape: header[n].shape, data_offsets: [off, off + e - b] };
      off += e - b;
      weightMap[n] = file;
    }
    let json = JSON.stringify(h);
    json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
    const jb = new TextEncoder().encode(json);
    const shard = new Uint8Array(8 + jb.length + off);
    new DataView(shard.buffer).setBigUint64(0, BigInt(jb.length), true);
    shard.set(jb, 8);
    let p = 8 + jb.length;
    for (const n of mine) {
      const [b, e] = header[n].data_offsets;
      shard.set(data.subarray(b, e), p);
      p += e - b;
    }
    out.set(file, shard);
  }
  out.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: { total_size: data.byteLength }, weight_map: weightMap })));
  return out;
}
