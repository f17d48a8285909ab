/**
 * What a KV cache of each format holds for the values written to it, computed independently of the GPU code:
 * f16 = round to nearest (ties to even) of each value; q8_0 = ggml's quantize_row_q8_0_ref then decode (d = amax /
 * 127, q = roundf(x · (1/d)), d stored as f16). The reference model passes its K/V rows through this to be
 * compared with an engine loaded with `kvCache`.
 */
import { roundF16 } from './ops.ts';

export type KvFormat = 'f32' | 'f16' | 'q8_0';

export function kvRound(f: KvFormat, x: Float32Array): Float32Array {
  if (f === 'f32') return x;
  if (f === 'f16') return x.map(roundF16);
  const out = new Float32Array(x.length);
  for (let b = 0; b < x.length; b += 32) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b + i]));
    const d = Math.fround(amax / 127);
    const id = d ? Math.fround(1 / d) : 0;
    const d16 = roundF16(d);
    for (let i = 0; i < 32; i++) {
      const v = Math.fround(x[b + i] * id);
      out[b + i] = Math.sign(v) * Math.floor(Math.abs(v) + 0.5) * d16;
    }
  }
  return out;
}
