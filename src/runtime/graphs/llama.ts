/**
 * llama / qwen2 / qwen3 / smollm3 / mistral: embedding → [attention (qwen2: q/k/v biases; qwen3: per-head q/k norm;
 * smollm3: no RoPE on every 4th layer; mistral: sliding window), SwiGLU FFN] × L → output norm → logits. Decode is
 * 5 dispatches a layer (qwen3: 7; 1 for small plain layers: the layer kernel), every small op fused into a projection, q/k/v and gate/up one projection each.
 */
import { attention, embed, ffn, head, layerWindow, rowsHead, stages, type GraphContext, type GraphLists } from '../layers.ts';
import { withLayerKernel } from '../layer-kernel.ts';

export function llamaGraph(g: GraphContext): GraphLists {
  const { c } = g;
  const layers = Array.from({ length: c.nLayers }, (_, i) => {
    const rope = c.ropeLayers && !c.ropeLayers[i] ? null : g.rope;
    const o = { bias: c.qkvBias, qkNorm: c.qkNorm, rope, window: layerWindow(c, i) };
    // Small layers decode as one dispatch (layer-kernel.ts) where the kernel computes what the block does.
    return withLayerKernel(g, i, o, stages(attention(g, i, o), ffn(g, i)));
  });
  return { body: stages(embed(g), ...layers), head: head(g), rows: (out) => rowsHead(g, out) };
}
