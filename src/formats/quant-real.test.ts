/**
 * quant.ts against real llama.cpp output: the sotu-5m model exists as F32, F16, Q8_0 and Q4_0 GGUF files made
 * by llama.cpp from the same weights, so every tensor can be checked against the F32 original.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType, type TensorInfo } from '../model/types.ts';
import { parseGgufHeader, type GgufHeader } from './gguf.ts';
import { ggmlTypeName } from './ggml-types.ts';
import { dequantize, f16ToF32, f32ArrayToF16, quantizeQ4_0, quantizeQ8_0 } from './quant.ts';

const SOTU = resolve(import.meta.dirname, '../../..', 'shared', 'models', 'sotu-5m');

interface Loaded {
  bytes: Uint8Array;
  header: GgufHeader;
  byName: Map<string, TensorInfo>;
}

function load(variant: string): Loaded {
  const bytes = new Uint8Array(readFileSync(resolve(SOTU, `sotu-5m-${variant}.gguf`)));
  const header = parseGgufHeader(bytes);
  if ('needBytes' in header) throw new Error(`sotu-5m-${variant}.gguf: header incomplete`);
  return { bytes, header, byName: new Map(header.tensors.map((t) => [t.name, t])) };
}

const data = (f: Loaded, t: TensorInfo): Uint8Array => f.bytes.subarray(t.offset, t.offset + t.byteLength);
const count = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);

const f32 = load('f32');
const original = new Map(f32.header.tensors.map((t) => [t.name, dequantize(GgmlType.F32, data(f32, t), count(t))]));

function eachTensor(f: Loaded, fn: (t: TensorInfo, ref: Float32Array) => void): void {
  expect(f.header.tensors.map((t) => t.name).sort()).toEqual(f32.header.tensors.map((t) => t.name).sort());
  for (const t of f.header.tensors) {
    const ref = original.get(t.name)!;
    expect(count(t)).toBe(ref.length);
    fn(t, ref);
  }
}

/**
 * Largest error allowed for one block, derived from the quantizer (not fitted to data):
 * x is approximated by q*d16, where d = amax/127 (Q8_0) or d = max/-8 (Q4_0) in f32, and d16 = f16(d).
 * |q*d16 - x| <= |q*d - x| + |q|*|d16 - d|. Q8_0 rounds, so |q*d - x| <= |d|/2; Q4_0 rounds too except that
 * the far side of the range clamps 16 to 15, which costs up to one whole step |d|. |q| <= 127 (Q8_0) or
 * |q - 8| <= 8 (Q4_0). A relative 1e-6 covers the f32 rounding of x/d.
 */
function blockBound(type: GgmlType, block: Float32Array, d16: number): number {
  let amax = 0;
  for (const v of block) amax = Math.max(amax, Math.abs(v));
  if (type === GgmlType.Q8_0) {
    const d = amax / 127;
    return (d / 2) * (1 + 1e-6) + 127 * Math.abs(Math.abs(d16) - d);
  }
  const d = amax / 8;
  return d * (1 + 1e-6) + 8 * Math.abs(Math.abs(d16) - d);
}

function checkQuantized(f: Loaded): { tensors: number; blocks: number } {
  let tensors = 0;
  let blocks = 0;
  eachTensor(f, (t, ref) => {
    const got = dequantize(t.type, data(f, t), ref.length);
    if (t.type === GgmlType.F32) {
      expect(got).toEqual(ref);
      return;
    }
    expect([GgmlType.Q8_0, GgmlType.Q4_0]).toContain(t.type);
    tensors++;
    const raw = data(f, t);
    const blockBytes = t.type === GgmlType.Q8_0 ? 34 : 18;
    for (let b = 0; b < ref.length / 32; b++) {
      blocks++;
      const d16 = f16ToF32(raw[b * blockBytes] | (raw[b * blockBytes + 1] << 8));
      const bound = blockBound(t.type, ref.subarray(b * 32, b * 32 + 32), d16);
      let worst = 0;
      for (let j = b * 32; j < b * 32 + 32; j++) worst = Math.max(worst, Math.abs(got[j] - ref[j]));
      if (worst > bound) {
        expect.fail(`${t.name} (${ggmlTypeName(t.type)}) block ${b}: error ${worst} > bound ${bound}`);
      }
    }
  });
  return { tensors, blocks };
}

describe('sotu-5m GGUF files vs the F32 original', () => {
  it('F16 file holds exactly the F32 weights rounded to f16 (RNE)', () => {
    const f16 = load('f16');
    let halfTensors = 0;
    eachTensor(f16, (t, ref) => {
      if (t.type === GgmlType.F32) {
        expect(dequantize(GgmlType.F32, data(f16, t), ref.length)).toEqual(ref);
        return;
      }
      expect(t.type).toBe(GgmlType.F16);
      halfTensors++;
      const mine = new Uint8Array(f32ArrayToF16(ref).buffer);
      expect(Buffer.compare(mine, data(f16, t)), t.name).toBe(0);
    });
    expect(halfTensors).toBeGreaterThanOrEqual(29);
  });

  it('Q8_0 file dequantizes to within the Q8_0 error bound of every F32 weight', () => {
    const { tensors, blocks } = checkQuantized(load('q8_0'));
    expect(tensors).toBe(30);
    expect(blocks).toBeGreaterThan(100_000);
  });

  it('Q4_0 file (output.weight in Q8_0) dequantizes to within the error bounds', () => {
    const q4 = load('q4_0');
    expect(q4.byName.get('output.weight')!.type).toBe(GgmlType.Q8_0);
    expect(q4.byName.get('token_embd.weight')!.type).toBe(GgmlType.Q4_0);
    const { tensors } = checkQuantized(q4);
    expect(tensors).toBe(30);
  });

  it('re-quantizing the F32 weights with quantizeQ4_0 reproduces every Q4_0 tensor of the q4_0 file byte for byte', () => {
    const f = load('q4_0');
    let checked = 0;
    eachTensor(f, (t, ref) => {
      if (t.type !== GgmlType.Q4_0) return;
      checked++;
      expect(Buffer.compare(quantizeQ4_0(ref), data(f, t)), t.name).toBe(0);
    });
    expect(checked).toBe(29);
  });

  /*
   * The Q8_0 tensors of these files were not made by ggml's C quantizer but by llama.cpp's legacy Python
   * converter (`(blocks / d).round()` in numpy: x/d with ties to even), which differs from ggml's
   * `roundf(x * (1/d))` (ties away from zero) only when an element lands exactly on a half step. So: every
   * block must match except where that happens, the differences must be exactly those ties, and an
   * independent model of the Python rule must reproduce the file completely.
   */
  it('re-quantizing with quantizeQ8_0 reproduces the q8_0 file except at exact half-step ties (legacy numpy rounding)', () => {
    const f = load('q8_0');
    const tiesToEven = (v: number): number => {
      const r = Math.round(v);
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    let blocks = 0;
    let differing = 0;
    let pythonMismatch = 0;
    eachTensor(f, (t, ref) => {
      if (t.type !== GgmlType.Q8_0) return;
      const mine = quantizeQ8_0(ref);
      const theirs = data(f, t);
      for (let b = 0; b < ref.length / 32; b++) {
        blocks++;
        const o = b * 34;
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(ref[b * 32 + j]));
        const d = Math.fround(amax / 127);
        const id = d === 0 ? 0 : Math.fround(1 / d);
        // Independent model of the converter that wrote the file.
        for (let j = 0; j < 32; j++) {
          const q = d === 0 ? 0 : tiesToEven(Math.fround(ref[b * 32 + j] / d));
          if (((q + 256) & 255) !== theirs[o + 2 + j]) pythonMismatch++;
        }
        if (Buffer.compare(mine.subarray(o, o + 34), theirs.subarray(o, o + 34)) === 0) continue;
        differing++;
        expect(mine[o] | (mine[o + 1] << 8), `${t.name} block ${b}: scale`).toBe(theirs[o] | (theirs[o + 1] << 8));
        for (let j = 0; j < 32; j++) {
          const a = (mine[o + 2 + j] << 24) >> 24;
          const c = (theirs[o + 2 + j] << 24) >> 24;
          if (a === c) continue;
          const x = ref[b * 32 + j];
          const halfSteps = [Math.fround(x * id), Math.fround(x / d)].map((v) => Math.abs(Math.abs(v) % 1 - 0.5));
          expect(Math.abs(a - c), `${t.name} block ${b} element ${j}`).toBe(1);
          expect(Math.min(...halfSteps), `${t.name} block ${b} element ${j} is not a tie`).toBeLessThan(1e-5);
        }
      }
    });
    expect(pythonMismatch).toBe(0);
    expect(blocks).toBe(163840);
    // 18 blocks at the time of writing; a tie is a ~1e-4-per-block event, so anything near 1e-3 means a real bug.
    expect(differing / blocks).toBeLessThan(3e-4);
  });
});
