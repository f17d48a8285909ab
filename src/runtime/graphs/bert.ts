/**
 * BERT-family encoders (llama.cpp src/models/bert.cpp): embeddings + LayerNorm, then per layer post-norm attention
 * and FFN, then pooling. bert: absolute position embeddings, Q/K/V/O biases, GELU FFN with biases. nomic-bert: no
 * position table but RoPE on q/k (its fused QKV runs as one projection), SwiGLU FFN, no projection biases. q/k/v
 * (and nomic-bert's gate/up) are one matmul each when their formats allow (encoder-layers.ts, gpu/projection.ts).
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
