/**
 * llama / qwen2 / qwen3 / smollm3 / mistral: embedding → [attention (qwen2: q/k/v biases; qwen3: per-head q/k norm;
 * smollm3: no RoPE on every 4th layer; mistral: sliding window), SwiGLU FFN] × L → output norm → logits. Decode is
 * 5 dispatches a layer (qwen3: 7; small plain layers: 1, runtime/layer-kernel.ts), every small op fused into a projection, q/k/v and gate/up one projection each.
 */
import { attention, embed, ffn, head, layerWindow, rowsHead, stages, type GraphContext, type GraphLists } from '../layers.ts';
import { layerKernelDecode } from '../layer-kernel.ts';

export function llamaGraph(g: GraphContext): GraphLists {
  const { c } = g;
  const opts = Array.from({ length: c.nLayers }, (_, i) => {
    const rope = c.ropeLayers && !c.ropeLayers[i] ? null : g.rope;
    return { bias: c.qkvBias, qkNorm: c.qkNorm, rope, window: layerWindow(c, i) };
  });
  const body = stages(embed(g), ...opts.map((o, i) => stages(attention(g, i, o), ffn(g, i))));
  // Small plain layers decode as one dispatch each, embedding and head folded in (layer-kernel.ts).
  const lk = layerKernelDecode(g, opts);
  return {
    body: lk ? { decode: lk.decode, prefill: body.prefill, decodeHead: lk.head } : body,
    head: head(g), rows: (out) => rowsHead(g, out),
  };
}
