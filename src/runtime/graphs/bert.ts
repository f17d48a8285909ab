/**
 * BERT-family encoders (llama.cpp src/models/bert.cpp): embeddings + LayerNorm, then per layer post-norm attention
 * and FFN, then pooling. bert: absolute position embeddings, Q/K/V/O biases, GELU FFN with biases. nomic-bert: no
 * position table but RoPE on q/k (its fused QKV is split into q/k/v on load), SwiGLU FFN, no projection biases.
 */
import { feedForward, inputEmbedding, poolHead, selfAttention, type EncoderContext } from '../encoder-layers.ts';

export function bertGraph(g: EncoderContext) {
  const nomic = g.c.arch === 'nomic-bert';
  return [
    ...inputEmbedding(g, { positions: !nomic }),
    ...Array.from({ length: g.c.nLayers }, (_, i) => [...selfAttention(g, i, { rope: nomic }), ...feedForward(g, i, nomic ? 'swiglu' : 'gelu')]).flat(),
    ...poolHead(g),
  ];
}
