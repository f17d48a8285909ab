/**
 * Shared pieces of encoder (embedding model) graphs, as runtime/layers.ts is for decoders: input embeddings, post-norm
 * self-attention, FFN (GELU or SwiGLU) and pooling. A batch is several sequences packed row after row (no padding):
 * every projection runs on exactly the real tokens, and attention keeps sequences apart with per-token key ranges
 * (attention.wgsl SEGMENTS), so a text's vector never depends on what else is in the batch.
 */
import type { ModelConfig, Pooling } from '../model/types.ts';
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
import type { WeightStore } from '../gpu/weights.ts';
import type { RopeTable } from './layers.ts';

/** Buffers of one packed batch (sized for maxBatch tokens and sequences by the Encoder). */
export interface EncoderActivations {
  /** Token ids [B]. */
  ids: GPUBuffer;
  /** Each token's position within its own sequence [B]. */
  positions: GPUBuffer;
  /** Token-type ids [B] (all 0: BERT's "sentence A"). */
  types: GPUBuffer;
  /** Each token's key range [B × (begin, end)]. */
  segments: GPUBuffer;
  /** [n_seqs, start_0 … start_n] row offsets of the sequences. */
  seqs: GPUBuffer;
  /** Hidden states [B, dim]. */
  x: GPUBuffer;
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  /** Attention output [B, dim]. */
  att: GPUBuffer;
  /** FFN hidden [B, ffnDim]. */
  ffn: GPUBuffer;
  /** One pooled vector per sequence [B, dim]. */
  pooled: GPUBuffer;
}

export interface EncoderContext {
  k: Kernels;
  c: ModelConfig;
  w: WeightStore;
  a: EncoderActivations;
  rope: RopeTable;
  pooling: Pooling;
  /** Sequences in the batch being encoded (bounds the pooling grid). */
  nSeqs: () => number;
}

export type EncoderGraph = (g: EncoderContext) => Promise<Dispatch>[];

/** x = LayerNorm(token_embd[id] (+ position_embd[pos]) + token_types[0]). */
export function inputEmbedding(g: EncoderContext, o: { positions: boolean }): Promise<Dispatch>[] {
  const { k, w, a, c } = g;
  return [
    k.embedding({ label: 'embd', table: w.matrix('token_embd.weight'), ids: a.ids, out: a.x }),
    ...(o.positions ? [k.embedding({ label: 'pos_embd', table: w.matrix('position_embd.weight'), ids: a.positions, out: a.x, accumulate: true })] : []),
    k.embedding({ label: 'type_embd', table: w.matrix('token_types.weight'), ids: a.types, out: a.x, accumulate: true }),
    norm(g, 'token_embd_norm'),
  ];
}

/** LayerNorm `name`.weight / .bias of the hidden states, in place. */
export function norm(g: EncoderContext, name: string): Promise<Dispatch> {
  const { k, w, a, c } = g;
  return k.layernorm({ label: name, x: a.x, weight: w.vector(`${name}.weight`), bias: w.vector(`${name}.bias`), dim: c.dim, eps: c.normEps });
}

/**
 * Post-norm bidirectional self-attention: x = LayerNorm(x + o(attention(q, k, v))). Biases wherever the file has
 * them; `rope`: q and k rotated at each token's position in its sequence (nomic-bert).
 */
export function selfAttention(g: EncoderContext, i: number, o: { rope: boolean }): Promise<Dispatch>[] {
  const { k, c, w, a, rope } = g;
  const p = `blk.${i}.`;
  const proj = (name: string, y: GPUBuffer) =>
    k.matmul({ label: `${p}${name}`, w: w.matrix(`${p}${name}.weight`), x: a.x, y, bias: w.optionalVector(`${p}${name}.bias`) });
  const rotate = (x: GPUBuffer, label: string) =>
    k.rope({ label: `${p}${label}`, x, nHeads: c.nHeads, headDim: rope.headDim, neox: rope.neox, invFreq: rope.invFreq, positions: a.positions });
  return [
    proj('attn_q', a.q),
    proj('attn_k', a.k),
    proj('attn_v', a.v),
    ...(o.rope ? [rotate(a.q, 'rope_q'), rotate(a.k, 'rope_k')] : []),
    k.attention({ label: `${p}attn`, q: a.q, out: a.att, kCache: a.k, vCache: a.v, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, segments: a.segments }),
    k.matmul({ label: `${p}attn_output`, w: w.matrix(`${p}attn_output.weight`), x: a.att, y: a.x, bias: w.optionalVector(`${p}attn_output.bias`), accumulate: true }),
    norm(g, `${p}attn_output_norm`),
  ];
}

/** Post-norm FFN: x = LayerNorm(x + down(gelu(up(x)))) (BERT) or down(silu(gate(x)) · up(x)) (nomic-bert). */
export function feedForward(g: EncoderContext, i: number, act: 'gelu' | 'swiglu'): Promise<Dispatch>[] {
  const { k, w, a } = g;
  const p = `blk.${i}.`;
  const lin = (name: string, x: GPUBuffer, y: GPUBuffer, mode: { gelu?: boolean; gateMul?: boolean; accumulate?: boolean }) =>
    k.matmul({ label: `${p}${name}`, w: w.matrix(`${p}${name}.weight`), x, y, bias: w.optionalVector(`${p}${name}.bias`), ...mode });
  const up = act === 'gelu'
    ? [lin('ffn_up', a.x, a.ffn, { gelu: true })]
    : [lin('ffn_gate', a.x, a.ffn, {}), lin('ffn_up', a.x, a.ffn, { gateMul: true })];
  return [...up, lin('ffn_down', a.ffn, a.x, { accumulate: true }), norm(g, `${p}layer_output_norm`)];
}

/** One vector per sequence (mean / CLS / last token of its hidden states). */
export function poolHead(g: EncoderContext): Promise<Dispatch>[] {
  const { k, c, a } = g;
  return [k.pool({ label: 'pool', x: a.x, out: a.pooled, seqs: a.seqs, dim: c.dim, mode: g.pooling, maxSeqs: g.nSeqs })];
}
