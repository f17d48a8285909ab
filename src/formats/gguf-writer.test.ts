import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { ModelFormatError } from '../errors.ts';
import { parseGgufHeader, type GgufHeader } from './gguf.ts';
import { writeGguf, type GgufKind, type GgufWriteValue } from './gguf-writer.ts';
import { quantizeQ4_0, quantizeQ8_0 } from './quant.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');

function parse(bytes: Uint8Array): GgufHeader {
  const h = parseGgufHeader(bytes);
  if ('needBytes' in h) throw new Error('incomplete');
  return h;
}

describe('writeGguf', () => {
  it('round-trips metadata of every kind and tensor bytes through parseGgufHeader', () => {
    const f32 = new Float32Array([1, -2, 3.5, 0.25, 5, 6]);
    const q8src = new Float32Array(64).map((_, i) => Math.sin(i));
    const q8 = quantizeQ8_0(q8src);
    const q4 = quantizeQ4_0(q8src);
    const metadata: Array<[string, GgufWriteValue, GgufKind?]> = [
      ['general.architecture', 'llama'],
      ['u32', 4096],
      ['i32', -7],
      ['f32', 0.5],
      ['f32.integral', 10000, 'f32'],
      ['bool', true],
      ['u8', 200, 'u8'],
      ['i16', -300, 'i16'],
      ['u64', 2n ** 40n],
      ['f64', 0.1, 'f64'],
      ['unicode', 'héllo ✓ 世界'],
      ['strings', ['a', '', 'Ġthe', '<|im_end|>']],
      ['floats', new Float32Array([0.5, -1.25])],
      ['ints', [1, -2, 3]],
      ['u32s', new Uint32Array([7, 8])],
      ['bools', [true, false, true]],
    ];
    const tensors = [
      { name: 'a', type: GgmlType.F32, shape: [2, 3], data: new Uint8Array(f32.buffer) },
      { name: 'b.q8', type: GgmlType.Q8_0, shape: [2, 32], data: q8 },
      { name: 'c.q4', type: GgmlType.Q4_0, shape: [64], data: q4 },
      { name: 'd.fill', type: GgmlType.F16, shape: [3], data: (dst: Uint8Array) => dst.set([1, 2, 3, 4, 5, 6]) },
    ];
    const bytes = writeGguf({ metadata, tensors });
    const h = parse(bytes);
    expect(h.version).toBe(3);
    expect(h.alignment).toBe(32);
    const m = h.metadata;
    expect(m.get('general.architecture')).toBe('llama');
    expect(m.get('u32')).toBe(4096);
    expect(m.get('i32')).toBe(-7);
    expect(m.get('f32')).toBe(0.5);
    expect(m.get('f32.integral')).toBe(10000);
    expect(m.get('bool')).toBe(true);
    expect(m.get('u8')).toBe(200);
    expect(m.get('i16')).toBe(-300);
    expect(m.get('u64')).toBe(2 ** 40);
    expect(m.get('f64')).toBe(0.1);
    expect(m.get('unicode')).toBe('héllo ✓ 世界');
    expect(m.get('strings')).toEqual(['a', '', 'Ġthe', '<|im_end|>']);
    expect(m.get('floats')).toEqual(new Float32Array([0.5, -1.25]));
    expect(m.get('ints')).toEqual(new Int32Array([1, -2, 3]));
    expect(m.get('u32s')).toEqual(new Uint32Array([7, 8]));
    expect(m.get('bools')).toEqual([true, false, true]);
    expect([...m.keys()]).toEqual(metadata.map(([k]) => k));

    expect(h.tensors.map((t) => [t.name, t.type, t.shape])).toEqual([
      ['a', GgmlType.F32, [2, 3]],
      ['b.q8', GgmlType.Q8_0, [2, 32]],
      ['c.q4', GgmlType.Q4_0, [64]],
      ['d.fill', GgmlType.F16, [3]],
    ]);
    const expected = [new Uint8Array(f32.buffer), q8, q4, new Uint8Array([1, 2, 3, 4, 5, 6])];
    h.tensors.forEach((t, i) => {
      expect(t.offset % 32).toBe(0);
      expect(bytes.subarray(t.offset, t.offset + t.byteLength)).toEqual(expected[i]);
    });
    expect(bytes.length % 32).toBe(0);
  });

  it('writes general.alignment for a non-default alignment and aligns tensors to it', () => {
    const bytes = writeGguf({
      metadata: [['x', 1]],
      tensors: [
        { name: 't0', type: GgmlType.F32, shape: [3], data: new Uint8Array(12) },
        { name: 't1', type: GgmlType.F32, shape: [1], data: new Uint8Array([0, 0, 128, 63]) },
      ],
      alignment: 64,
    });
    const h = parse(bytes);
    expect(h.alignment).toBe(64);
    expect(h.metadata.get('general.alignment')).toBe(64);
    expect(h.dataOffset % 64).toBe(0);
    expect(h.tensors[1].offset - h.tensors[0].offset).toBe(64);
    expect(new Float32Array(bytes.slice(h.tensors[1].offset, h.tensors[1].offset + 4).buffer)[0]).toBe(1);
  });

  it('rejects wrong data sizes, partial blocks, duplicates and out-of-range values', () => {
    const t = (shape: number[], type: GgmlType, n: number) => ({ name: 't', type, shape, data: new Uint8Array(n) });
    expect(() => writeGguf({ metadata: [], tensors: [t([4], GgmlType.F32, 15)] })).toThrow(ModelFormatError);
    expect(() => writeGguf({ metadata: [], tensors: [t([2, 16], GgmlType.Q8_0, 34)] })).toThrow(/block size/);
    expect(() => writeGguf({ metadata: [], tensors: [t([1], GgmlType.F32, 4), t([1], GgmlType.F32, 4)] })).toThrow(/twice/);
    expect(() => writeGguf({ metadata: [['k', 1], ['k', 2]], tensors: [] })).toThrow(/twice/);
    expect(() => writeGguf({ metadata: [['k', 300, 'u8']], tensors: [] })).toThrow(ModelFormatError);
    expect(() => writeGguf({ metadata: [['k', 'x', 'u32']], tensors: [] })).toThrow(ModelFormatError);
    expect(() => writeGguf({ metadata: [], tensors: [], alignment: 24 })).toThrow(ModelFormatError);
  });

  it('reproduces a real GGUF file byte for byte from its parsed contents (sotu-5m-q8_0)', () => {
    // Value types as llama.cpp's writers use them; the parser tells arrays apart by their typed-array class.
    const file = new Uint8Array(readFileSync(resolve(SHARED, 'models/sotu-5m/sotu-5m-q8_0.gguf')));
    const h = parse(file);
    const kindOf = (key: string, v: unknown): GgufKind | undefined => {
      if (key.endsWith('rope.freq_base') || key.endsWith('layer_norm_rms_epsilon')) return 'f32';
      if (typeof v === 'number') return 'u32';
      if (v instanceof Int32Array) return 'i32[]';
      if (v instanceof Float32Array) return 'f32[]';
      return undefined;
    };
    const metadata = [...h.metadata].map(([k, v]) => [k, v as GgufWriteValue, kindOf(k, v)] as [string, GgufWriteValue, GgufKind?]);
    const tensors = h.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: file.subarray(t.offset, t.offset + t.byteLength) }));
    const out = writeGguf({ metadata, tensors, alignment: h.alignment });
    expect(out.length).toBe(file.length);
    expect(Buffer.compare(out, file)).toBe(0);
  });
});
