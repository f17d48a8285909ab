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
import { fuseRows, fuseVectors, projectionOf } from '../gpu/projection.ts';

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
  const { k, w, a } = g;
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
 * q, k and v as few projections as the weights allow (gpu/projection.ts): nomic-bert's file ships them fused
 * (`attn_qkv`, rows [q | k | v]) and runs as it is; BERT's separate q/k/v (with their biases) are concatenated once at
 * graph build when their formats match. Each projection is one matmul that writes its parts to q, k and v (`split`).
 */
function qkvProjections(g: EncoderContext, i: number): Promise<Dispatch>[] {
  const { k, c, w, a } = g;
  const p = `blk.${i}.`;
  const names = ['attn_q', 'attn_k', 'attn_v'].map((n) => `${p}${n}`);
  const fused = w.matrices.has(`${p}attn_qkv.weight`)
    ? [projectionOf(w.matrix(`${p}attn_qkv.weight`), names.map((name) => ({ name, rows: c.nHeads * c.headDim })))]
    : fuseRows(w, names.map((n) => `${n}.weight`));
  const outs = [a.q, a.k, a.v];
  const biases = names.map((n) => `${n}.bias`).filter((n) => w.vectors.has(n));
  if (biases.length !== 0 && biases.length !== 3) throw new Error(`${p}: biases for some of q/k/v only`);
  let first = 0;
  return fused.map((proj) => {
    const j0 = first;
    first += proj.parts.length;
    return k.matmul({
      label: `${p}${proj.parts.length === 3 ? 'qkv' : proj.parts.map((part) => part.name.split('.').at(-1)).join('+')}`,
      w: proj.w, x: a.x, y: outs[j0],
      bias: biases.length ? fuseVectors(w, biases.slice(j0, first)) : undefined,
      split: proj.parts.slice(1).map((part, j) => ({ at: part.row0, y: outs[j0 + 1 + j] })),
    });
  });
}

/**
 * Post-norm bidirectional self-attention: x = LayerNorm(x + o(attention(q, k, v))). Biases wherever the file has
 * them; `rope`: q and k rotated at each token's position in its sequence (nomic-bert).
 */
export function selfAttention(g: EncoderContext, i: number, o: { rope: boolean }): Promise<Dispatch>[] {
  const { k, c, w, a, rope } = g;
  const p = `blk.${i}.`;
  const rotate = (x: GPUBuffer, label: string) =>
    k.rope({ label: `${p}${label}`, x, nHeads: c.nHeads, headDim: rope.headDim, neox: rope.neox, invFreq: rope.invFreq, positions: a.positions });
  return [
    ...qkvProjections(g, i),
    ...(o.rope ? [rotate(a.q, 'rope_q'), rotate(a.k, 'rope_k')] : []),
    k.attention({ label: `${p}attn`, q: a.q, out: a.att, kCache: a.k, vCache: a.v, nHeads: c.nHeads, nKvHeads: c.nKvHeads, headDim: c.headDim, segments: a.segments }),
    k.matmul({ label: `${p}attn_output`, w: w.matrix(`${p}attn_output.weight`), x: a.att, y: a.x, bias: w.optionalVector(`${p}attn_output.bias`), accumulate: true }),
    norm(g, `${p}attn_output_norm`),
  ];
}

/**
 * Post-norm FFN: x = LayerNorm(x + down(gelu(up(x)))) (BERT) or down(silu(gate(x)) · up(x)) (nomic-bert: gate and up
 * as one projection when their formats match, SwiGLU in its epilogue).
 */
export function feedForward(g: EncoderContext, i: number, act: 'gelu' | 'swiglu'): Promise<Dispatch>[] {
  const { k, w, a } = g;
  const p = `blk.${i}.`;
  const lin = (name: string, x: GPUBuffer, y: GPUBuffer, mode: { gelu?: boolean; accumulate?: boolean }) =>
    k.matmul({ label: `${p}${name}`, w: w.matrix(`${p}${name}.weight`), x, y, bias: w.optionalVector(`${p}${name}.bias`), ...mode });
  const gateUp = () => {
    const [gate, up] = fuseRows(w, [`${p}ffn_gate.weight`, `${p}ffn_up.weight`]).map((pr) => pr.w);
    return up
      ? [k.matmul({ label: `${p}ffn_gate`, w: gate, x: a.x, y: a.ffn }), k.matmul({ label: `${p}ffn_up`, w: up, x: a.x, y: a.ffn, gateMul: true })]
      : [k.matmul({ label: `${p}ffn_gate_up`, w: gate, x: a.x, y: a.ffn, glu: 'silu' })];
  };
  const up = act === 'gelu' ? [lin('ffn_up', a.x, a.ffn, { gelu: true })] : gateUp();
  return [...up, lin('ffn_down', a.ffn, a.x, { accumulate: true }), norm(g, `${p}layer_output_norm`)];
}

/** One vector per sequence (mean / CLS / last token of its hidden states). */
export function poolHead(g: EncoderContext): Promise<Dispatch>[] {
  const { k, c, a } = g;
  return [k.pool({ label: 'pool', x: a.x, out: a.pooled, seqs: a.seqs, dim: c.dim, mode: g.pooling, maxSeqs: g.nSeqs })];
}
