import { describe, expect, it } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { canonicalTensorName, hfTensorName, parseSafetensorsHeader, type SafetensorsHeader } from './safetensors.ts';
import { writeSafetensors } from '../../test/fixtures/safetensors-writer.ts';

/** A safetensors file built by hand: 8-byte LE length, JSON, data. */
function file(header: Record<string, unknown>, dataBytes: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  return out;
}

function parsed(bytes: Uint8Array, fileSize?: number): SafetensorsHeader {
  const h = parseSafetensorsHeader(bytes, { fileSize });
  if ('needBytes' in h) throw new Error(`needBytes ${h.needBytes}`);
  return h;
}

describe('canonicalTensorName', () => {
  it('maps every HF llama/qwen name to its GGUF name and keeps unknown names', () => {
    const cases: Array<[string, string]> = [
      ['model.embed_tokens.weight', 'token_embd.weight'],
      ['model.norm.weight', 'output_norm.weight'],
      ['lm_head.weight', 'output.weight'],
      ['model.layers.0.input_layernorm.weight', 'blk.0.attn_norm.weight'],
      ['model.layers.12.self_attn.q_proj.weight', 'blk.12.attn_q.weight'],
      ['model.layers.3.self_attn.k_proj.weight', 'blk.3.attn_k.weight'],
      ['model.layers.3.self_attn.v_proj.weight', 'blk.3.attn_v.weight'],
      ['model.layers.3.self_attn.q_proj.bias', 'blk.3.attn_q.bias'],
      ['model.layers.3.self_attn.k_proj.bias', 'blk.3.attn_k.bias'],
      ['model.layers.3.self_attn.v_proj.bias', 'blk.3.attn_v.bias'],
      ['model.layers.3.self_attn.o_proj.weight', 'blk.3.attn_output.weight'],
      ['model.layers.3.self_attn.q_norm.weight', 'blk.3.attn_q_norm.weight'],
      ['model.layers.3.self_attn.k_norm.weight', 'blk.3.attn_k_norm.weight'],
      ['model.layers.3.post_attention_layernorm.weight', 'blk.3.ffn_norm.weight'],
      ['model.layers.3.mlp.gate_proj.weight', 'blk.3.ffn_gate.weight'],
      ['model.layers.3.mlp.up_proj.weight', 'blk.3.ffn_up.weight'],
      ['model.layers.3.mlp.down_proj.weight', 'blk.3.ffn_down.weight'],
      ['model.layers.3.self_attn.rotary_emb.inv_freq', 'model.layers.3.self_attn.rotary_emb.inv_freq'],
      ['model.layers.3.mlp.experts.0.weight', 'model.layers.3.mlp.experts.0.weight'],
      ['something.else', 'something.else'],
    ];
    for (const [hf, gguf] of cases) {
      expect(canonicalTensorName(hf), hf).toBe(gguf);
      if (hf !== gguf) expect(hfTensorName(gguf)).toBe(hf);
    }
  });
});

describe('parseSafetensorsHeader', () => {
  it('reads dtypes, shapes, absolute offsets and metadata, with canonical names', () => {
    const bytes = file(
      {
        __metadata__: { format: 'pt' },
        'model.layers.0.mlp.up_proj.weight': { dtype: 'BF16', shape: [4, 2], data_offsets: [24, 40] },
        'model.embed_tokens.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        'model.norm.weight': { dtype: 'F16', shape: [2], data_offsets: [40, 44] },
      },
      44,
    );
    const h = parsed(bytes, bytes.length);
    const dataOffset = bytes.length - 44;
    expect(h.dataOffset).toBe(dataOffset);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors).toEqual([
      { name: 'token_embd.weight', type: GgmlType.F32, shape: [2, 3], offset: dataOffset, byteLength: 24 },
      { name: 'blk.0.ffn_up.weight', type: GgmlType.BF16, shape: [4, 2], offset: dataOffset + 24, byteLength: 16 },
      { name: 'output_norm.weight', type: GgmlType.F16, shape: [2], offset: dataOffset + 40, byteLength: 4 },
    ]);
  });

  it('asks for more bytes until the whole header is there', () => {
    const bytes = file({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4);
    expect(parseSafetensorsHeader(bytes.subarray(0, 5))).toEqual({ needBytes: 8 });
    expect(parseSafetensorsHeader(bytes.subarray(0, 20))).toEqual({ needBytes: bytes.length - 4 });
    expect('tensors' in parseSafetensorsHeader(bytes.subarray(0, bytes.length - 4))).toBe(true);
  });

  it('names the tensor and dtype it cannot read', () => {
    const bytes = file({ 'model.layers.0.mlp.up_proj.weight': { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16);
    expect(() => parseSafetensorsHeader(bytes)).toThrow(UnsupportedModelError);
    expect(() => parseSafetensorsHeader(bytes)).toThrow(/model\.layers\.0\.mlp\.up_proj\.weight.*I64/);
  });

  it("skips the non-weight buffers real checkpoints carry (BERT's int64 position_ids / token_type_ids, inv_freq), still range-checked", () => {
    const bytes = file(
      {
        'embeddings.position_ids': { dtype: 'I64', shape: [1, 2], data_offsets: [0, 16] },
        'embeddings.token_type_ids': { dtype: 'I64', shape: [1, 2], data_offsets: [16, 32] },
        'model.layers.0.self_attn.rotary_emb.inv_freq': { dtype: 'F32', shape: [2], data_offsets: [32, 40] },
        'model.norm.weight': { dtype: 'F32', shape: [2], data_offsets: [40, 48] },
      },
      48,
    );
    const h = parsed(bytes, bytes.length);
    expect(h.tensors.map((t) => t.name)).toEqual(['output_norm.weight']);
    expect(h.skipped).toEqual(['embeddings.position_ids', 'embeddings.token_type_ids', 'model.layers.0.self_attn.rotary_emb.inv_freq']);
    // A skipped buffer still has to be a consistent range.
    const bad = file({ 'embeddings.position_ids': { dtype: 'I64', shape: [1, 3], data_offsets: [0, 16] } }, 16);
    expect(() => parsed(bad)).toThrow(ModelFormatError);
    const overlap = file({ 'embeddings.position_ids': { dtype: 'I64', shape: [2], data_offsets: [0, 16] }, w: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16);
    expect(() => parsed(overlap)).toThrow(/overlap/);
    // An integer tensor under a weight's name is still refused, naming it.
    const weight = file({ 'embeddings.word_embeddings.weight': { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, 8);
    expect(() => parsed(weight)).toThrow(/word_embeddings\.weight.*I32/);
  });

  it('rejects corrupt headers and ranges', () => {
    const bad = (h: Record<string, unknown>, n = 64, fileSize?: number) => () => parsed(file(h, n), fileSize);
    expect(bad({ t: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } })).toThrow(ModelFormatError); // size mismatch
    expect(bad({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } })).toThrow(ModelFormatError); // reversed
    expect(bad({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } })).toThrow(ModelFormatError);
    expect(bad({ t: { shape: [1], data_offsets: [0, 4] } })).toThrow(ModelFormatError);
    expect(
      bad({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }),
    ).toThrow(/overlap/);
    expect(bad({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8, undefined)).not.toThrow();
    const short = file({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8);
    expect(() => parsed(short, short.length)).toThrow(/truncated/);
    expect(
      bad({ 'lm_head.weight': { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'output.weight': { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }),
    ).toThrow(/both map/);
    const notJson = file({}, 0);
    notJson[8] = 0x7b;
    notJson[9] = 0x7b;
    expect(() => parseSafetensorsHeader(notJson)).toThrow(ModelFormatError);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setUint32(4, 1, true); // 2^32-byte header
    expect(() => parseSafetensorsHeader(huge)).toThrow(ModelFormatError);
  });

  it('round-trips writeSafetensors output', () => {
    const a = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const b = new Uint8Array([1, 2, 3, 4]);
    const bytes = writeSafetensors(
      [
        { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [3, 2], data: a },
        { name: 'model.layers.1.self_attn.q_norm.weight', dtype: 'BF16', shape: [2], data: b },
      ],
      { format: 'pt' },
    );
    const h = parsed(bytes, bytes.length);
    expect(h.dataOffset % 8).toBe(0);
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.tensors.map((t) => [t.name, t.type, t.shape])).toEqual([
      ['token_embd.weight', GgmlType.F32, [3, 2]],
      ['blk.1.attn_q_norm.weight', GgmlType.BF16, [2]],
    ]);
    expect(bytes.subarray(h.tensors[0].offset, h.tensors[0].offset + 24)).toEqual(a);
    expect(bytes.subarray(h.tensors[1].offset, h.tensors[1].offset + 4)).toEqual(b);
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F16', shape: [3], data: new Uint8Array(4) }])).toThrow(ModelFormatError);
  });
});
