/**
 * llama / qwen2 / qwen3 / smollm3 / mistral: embedding → [attention (qwen2: q/k/v biases; qwen3: per-head q/k norm;
 * smollm3: no RoPE on every 4th layer; mistral: sliding window), SwiGLU FFN] × L → output norm → logits. Decode is
 * 5 dispatches a layer (qwen3: 7), every small op fused into a projection, q/k/v and gate/up one projection each.
 */
import { attention, embed, ffn, head, layerWindow, rowsHead, stages, type GraphContext, type GraphLists } from '../layers.ts';

export function llamaGraph(g: GraphContext): GraphLists {
  const { c } = g;
  const layers = Array.from({ length: c.nLayers }, (_, i) => {
    const rope = c.ropeLayers && !c.ropeLayers[i] ? null : g.rope;
    return stages(attention(g, i, { bias: c.qkvBias, qkNorm: c.qkNorm, rope, window: layerWindow(c, i) }), ffn(g, i));
  });
  return { body: stages(embed(g), ...layers), head: head(g), rows: (out) => rowsHead(g, out) };
}
