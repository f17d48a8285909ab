/**
 * Adapter files → pairs (adapter-file.ts), in Node: what each format's fields do to the pairs (shapes, scale,
 * rsLoRA, alpha_pattern, llama GGUF Q/K row order) and that every malformed or mismatching file is a typed error
 * that names the tensor. The GPU path and the numbers against the reference and llama.cpp: test/models/lora.gpu.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { AdapterMismatchError, ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { llama } from '../families/llama.ts';
import { writeGguf } from '../../test/fixtures/gguf-writer.ts';
import { loraGguf, loraPeft, randomLora } from '../../test/fixtures/lora-fixture.ts';
import { checkAdapter, parseGgufAdapter, parsePeftAdapter } from './adapter-file.ts';

const SHAPES = new Map<string, number[]>([
  ['blk.0.attn_q.weight', [16, 8]], ['blk.0.attn_k.weight', [8, 8]], ['blk.0.ffn_down.weight', [8, 12]], ['token_embd.weight', [32, 8]],
]);
const fixture = randomLora(SHAPES, /^blk\./, { rank: 2, alpha: 6, seed: 1 });
const base = (name: string) => {
  const s = SHAPES.get(name);
  return s && { rows: s[0], cols: s[1] };
};

describe('GGUF adapters', () => {
  test('pairs keyed by base name, A [r, k], B [n, r], scale alpha / r', () => {
    const d = parseGgufAdapter(loraGguf(fixture, 'llama'));
    expect(d).toMatchObject({ format: 'gguf', arch: 'llama', alpha: 6 });
    const q = d.pairs.get('blk.0.attn_q.weight')!;
    expect(q).toMatchObject({ rank: 2, rows: 16, cols: 8, scale: 3 });
    expect([...q.a]).toEqual([...fixture.pairs[0].a]);
    expect([...q.b]).toEqual([...fixture.pairs[0].b]);
    expect(() => checkAdapter(d, 'llama', base)).not.toThrow();
  });

  test('a model, another adapter type, a lone half or a non-LoRA tensor are refused', () => {
    const meta = (type: string) => [['general.architecture', 'llama'], ['general.type', type], ['adapter.type', 'lora']] as const;
    const t = { name: 'blk.0.attn_q.weight.lora_a', type: GgmlType.F32, shape: [2, 8], data: new Uint8Array(64) };
    expect(() => parseGgufAdapter(writeGguf({ metadata: meta('model'), tensors: [t] }))).toThrow(/load it with load\(\)/);
    expect(() => parseGgufAdapter(writeGguf({ metadata: meta('adapter'), tensors: [t] }))).toThrow(ModelFormatError);
    const odd = { ...t, name: 'blk.0.attn_q.weight' };
    expect(() => parseGgufAdapter(writeGguf({ metadata: meta('adapter'), tensors: [odd] }))).toThrow(/not a LoRA tensor/);
    const ia3 = [['general.type', 'adapter'], ['adapter.type', 'ia3']] as const;
    expect(() => parseGgufAdapter(writeGguf({ metadata: ia3, tensors: [t] }))).toThrow(UnsupportedModelError);
  });

  test('A and B of different ranks: AdapterMismatchError naming the tensor', () => {
    const bad = { alpha: 2, pairs: [{ ...fixture.pairs[0], rank: 2, b: new Float32Array(16 * 3) }] };
    const bytes = writeGguf({
      metadata: [['general.type', 'adapter'], ['adapter.type', 'lora']],
      tensors: [
        { name: 'blk.0.attn_q.weight.lora_a', type: GgmlType.F32, shape: [2, 8], data: new Uint8Array(bad.pairs[0].a.buffer) },
        { name: 'blk.0.attn_q.weight.lora_b', type: GgmlType.F32, shape: [16, 3], data: new Uint8Array(bad.pairs[0].b.buffer) },
      ],
    });
    const e = (() => { try { parseGgufAdapter(bytes); } catch (x) { return x; } })() as AdapterMismatchError;
    expect(e).toBeInstanceOf(AdapterMismatchError);
    expect(e.tensor).toBe('blk.0.attn_q.weight');
  });

  test('checked against the base: architecture, missing tensor, shape, embedding/head refused', () => {
    const d = parseGgufAdapter(loraGguf(fixture, 'llama'));
    expect(() => checkAdapter(d, 'qwen2', base)).toThrow(AdapterMismatchError);
    const missing = (() => { try { checkAdapter(d, 'llama', (n) => (n === 'blk.0.attn_k.weight' ? undefined : base(n))); } catch (x) { return x; } })();
    expect(missing).toMatchObject({ tensor: 'blk.0.attn_k.weight' });
    const shape = (() => { try { checkAdapter(d, 'llama', (n) => (n === 'blk.0.ffn_down.weight' ? { rows: 8, cols: 16 } : base(n))); } catch (x) { return x; } })();
    expect(shape).toBeInstanceOf(AdapterMismatchError);
    expect((shape as Error).message).toMatch(/\[8, 12\].*\[8, 16\]/);
    const embd = parseGgufAdapter(loraGguf(randomLora(SHAPES, /^token_embd/, { rank: 2, alpha: 2, seed: 2 }), 'llama'));
    expect(() => checkAdapter(embd, 'llama', base)).toThrow(/attention and MLP projections only/);
  });
});

describe('PEFT adapters', () => {
  const config = (extra: object) => ({ ...loraPeft(fixture, llama.hfNames).config, ...extra });
  const st = loraPeft(fixture, llama.hfNames).safetensors;

  test('the same pairs as the GGUF file; rsLoRA scales by alpha / √r; alpha_pattern per module', () => {
    const d = parsePeftAdapter(config({}), st, llama.hfNames);
    const g = parseGgufAdapter(loraGguf(fixture, 'llama'));
    for (const [name, p] of g.pairs) expect(d.pairs.get(name)).toEqual(p);
    expect(parsePeftAdapter(config({ use_rslora: true }), st, llama.hfNames).pairs.get('blk.0.attn_q.weight')!.scale).toBeCloseTo(6 / Math.SQRT2, 12);
    const pat = parsePeftAdapter(config({ alpha_pattern: { down_proj: 10 } }), st, llama.hfNames);
    expect(pat.pairs.get('blk.0.ffn_down.weight')!.scale).toBe(5);
    expect(pat.pairs.get('blk.0.attn_q.weight')!.scale).toBe(3);
  });

  test("a llama GGUF base: Q/K B rows permuted to the converter's adjacent pairs (V/down untouched)", () => {
    const heads = { q: 2, k: 1 };
    const hf = loraPeft(fixture, llama.hfNames, heads);
    const d = parsePeftAdapter(hf.config, hf.safetensors, llama.hfNames, 'a', heads);
    const g = parseGgufAdapter(loraGguf(fixture, 'llama'));
    for (const [name, p] of g.pairs) expect(d.pairs.get(name)!.b).toEqual(p.b);
    // Without the permutation the q rows differ: the test can fail.
    expect(parsePeftAdapter(hf.config, hf.safetensors, llama.hfNames).pairs.get('blk.0.attn_q.weight')!.b).not.toEqual(g.pairs.get('blk.0.attn_q.weight')!.b);
  });

  test('DoRA, other PEFT types and non-LoRA tensors are refused', () => {
    expect(() => parsePeftAdapter(config({ use_dora: true }), st, llama.hfNames)).toThrow(/DoRA/);
    expect(() => parsePeftAdapter(config({ peft_type: 'IA3' }), st, llama.hfNames)).toThrow(UnsupportedModelError);
  });
});
