/**
 * mixTensorType against llama.cpp's own choices: the sotu-5m files in ../shared were written with llama.cpp's type
 * mix per tensor (Q4_K_M, Q5_K_M, Q3_K_M, Q2_K, Q6_K, IQ4_NL, IQ4_XS, Q4_1, Q5_0, Q5_1, Q8_0, Q4_0 files), so every
 * tensor's type in each file must be the one the mix gives, with one known difference: today's llama.cpp gives Q2_K
 * files' attn_output Q3_K, the Q2_K file (ggml d99724f) has Q2_K. (sotu-5m-q4_0 is left out: it was made with its
 * head kept in Q8_0, where llama-quantize would write Q6_K.) Plus the row-size fallbacks (SmolLM2's 576 columns).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { parseGgufHeader } from './gguf.ts';
import { ggmlTypeName } from './ggml-types.ts';
import { mixTensorType, type QuantMixId } from './quant-mix.ts';

const SOTU = resolve(import.meta.dirname, '../../..', 'shared', 'models', 'sotu-5m');
// sotu-5m: 4 layers, 8 heads, 4 KV heads (n_gqa 2), untied output.
const MODEL = { nLayers: 4, gqa: 2, hasOutput: true };

describe('mixTensorType = llama.cpp quantize on the sotu-5m files', () => {
  const known = (mix: string, name: string) => mix === 'q2_k' && name.endsWith('attn_output.weight');
  for (const mix of ['q4_k_m', 'q5_k_m', 'q3_k_m', 'q2_k', 'q6_k', 'iq4_nl', 'iq4_xs', 'q4_1', 'q5_0', 'q5_1', 'q8_0'] as QuantMixId[]) {
    it(mix, () => {
      const bytes = new Uint8Array(readFileSync(resolve(SOTU, `sotu-5m-${mix}.gguf`)));
      const header = parseGgufHeader(bytes);
      if ('needBytes' in header) throw new Error('header incomplete');
      const wrong = header.tensors
        .map((t) => ({ t, want: mixTensorType(mix, t.name, t.shape, MODEL) ?? GgmlType.F32 }))
        .filter(({ t, want }) => t.type !== want && !known(mix, t.name))
        .map(({ t, want }) => `${t.name}: file ${ggmlTypeName(t.type)}, mix ${ggmlTypeName(want)}`);
      expect(wrong).toEqual([]);
    });
  }
});

describe('fallbacks for rows that are not whole super-blocks (llama.cpp tensor_type_fallback)', () => {
  const smol = { nLayers: 30, gqa: 3, hasOutput: false };
  it('SmolLM2-135M (576 columns) as Q4_K_M: Q5_0 matrices, Q8_0 tied head, Q6_K rows of 1536 stay', () => {
    expect(mixTensorType('q4_k_m', 'blk.5.attn_q.weight', [576, 576], smol)).toBe(GgmlType.Q5_0);
    expect(mixTensorType('q4_k_m', 'token_embd.weight', [49152, 576], smol)).toBe(GgmlType.Q8_0);
    expect(mixTensorType('q4_k_m', 'blk.0.ffn_down.weight', [576, 1536], smol)).toBe(GgmlType.Q6_K);
    expect(mixTensorType('q4_k_m', 'blk.4.ffn_down.weight', [576, 1536], smol)).toBe(GgmlType.Q4_K);
    expect(mixTensorType('q4_k_m', 'blk.5.ffn_down.weight', [576, 1536], smol)).toBe(GgmlType.Q6_K);
    expect(mixTensorType('q6_k', 'blk.5.attn_k.weight', [192, 576], smol)).toBe(GgmlType.Q8_0);
    expect(mixTensorType('q5_k_m', 'blk.5.attn_k.weight', [192, 576], smol)).toBe(GgmlType.Q5_1);
    expect(mixTensorType('q4_k_m', 'blk.5.attn_norm.weight', [576], smol)).toBeUndefined();
  });
});
