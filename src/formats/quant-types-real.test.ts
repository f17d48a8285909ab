/**
 * Every weight type of the format table against ggml's own output: the sotu-5m files in 11 more types were made
 * from sotu-5m-f32.gguf by ggml's reference quantizer (`ggml_quantize_chunk`, no importance matrix), so per tensor
 * (1) our decoder must land near the F32 original (a loose sanity bound: RMSE relative to the tensor's RMS, per
 * type), and (2) our encoder applied to the F32 original must reproduce the file's bytes exactly, for every type
 * (the first ROWS rows of every tensor of one layer and the head, to keep the test fast: the encoders are per row;
 * whole files were also checked once: 30/30 tensors bit-exact in each).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType, type TensorInfo } from '../model/types.ts';
import { parseGgufHeader } from './gguf.ts';
import { ggmlTypeName } from './ggml-types.ts';
import { dequantize, quantize } from './quant.ts';

const SOTU = resolve(import.meta.dirname, '../../..', 'shared', 'models', 'sotu-5m');

function load(variant: string) {
  const bytes = new Uint8Array(readFileSync(resolve(SOTU, `sotu-5m-${variant}.gguf`)));
  const header = parseGgufHeader(bytes);
  if ('needBytes' in header) throw new Error(`sotu-5m-${variant}.gguf: header incomplete`);
  return { bytes, tensors: header.tensors };
}
const count = (t: TensorInfo): number => t.shape.reduce((a, b) => a * b, 1);
const data = (b: Uint8Array, t: TensorInfo) => b.subarray(t.offset, t.offset + t.byteLength);

const f32 = load('f32');
const original = new Map(f32.tensors.map((t) => [t.name, dequantize(GgmlType.F32, data(f32.bytes, t), count(t))]));

function relRmse(a: Float32Array, ref: Float32Array): number {
  let e = 0;
  let s = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (a[i] - ref[i]) ** 2;
    s += ref[i] ** 2;
  }
  return Math.sqrt(e / s);
}

/** Relative RMSE a decoded tensor may have (generous: twice what each format gives on Gaussian-like weights). */
const MAX_REL_RMSE: Partial<Record<GgmlType, number>> = {
  [GgmlType.Q2_K]: 0.5, [GgmlType.Q3_K]: 0.25, [GgmlType.Q4_K]: 0.12, [GgmlType.Q5_K]: 0.06, [GgmlType.Q6_K]: 0.03,
  [GgmlType.Q4_1]: 0.12, [GgmlType.Q5_0]: 0.08, [GgmlType.Q5_1]: 0.06, [GgmlType.IQ4_NL]: 0.12, [GgmlType.IQ4_XS]: 0.12,
  [GgmlType.Q8_0]: 0.01, [GgmlType.Q4_0]: 0.15, [GgmlType.BF16]: 0.01,
};

const ROWS = 8;

for (const variant of ['q4_k_m', 'q5_k_m', 'q6_k', 'q3_k_m', 'q2_k', 'q4_1', 'q5_0', 'q5_1', 'iq4_nl', 'iq4_xs', 'bf16']) {
  describe(`sotu-5m-${variant}`, () => {
    const f = load(variant);
    it('decodes every tensor to near the F32 original; our encoder reproduces the bytes', () => {
      const lines: string[] = [];
      let exact = 0;
      let quantized = 0;
      for (const t of f.tensors) {
        const ref = original.get(t.name)!;
        const got = dequantize(t.type, data(f.bytes, t), ref.length);
        if (t.type === GgmlType.F32) {
          expect(got).toEqual(ref);
          continue;
        }
        quantized++;
        const theirs = relRmse(got, ref);
        expect(theirs, `${t.name} ${ggmlTypeName(t.type)}`).toBeLessThan(MAX_REL_RMSE[t.type]!);
        if (!t.name.startsWith('blk.2.') && t.name !== 'output.weight') continue;
        const cols = t.shape[t.shape.length - 1];
        const part = ref.subarray(0, ROWS * cols);
        const mine = quantize(t.type, part);
        const fileBytes = data(f.bytes, t).subarray(0, mine.length);
        let diff = 0;
        for (let i = 0; i < mine.length; i++) if (mine[i] !== fileBytes[i]) diff++;
        if (diff === 0) exact++;
        else lines.push(`${t.name} ${ggmlTypeName(t.type)}: ${diff}/${mine.length} bytes differ`);
      }
      console.log(`sotu-5m-${variant}: ${exact} sampled tensors bit-exact\n${lines.join('\n')}`);
      expect(lines, 'our encoder must reproduce ggml\'s bytes').toEqual([]);
      expect(exact).toBeGreaterThanOrEqual(8);
      expect(quantized).toBeGreaterThanOrEqual(29);
    });
  });
}
