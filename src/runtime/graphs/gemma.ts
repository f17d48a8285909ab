/**
 * gemma2 / gemma3: embedding·√dim → [attention (gemma3: q/k norm; sliding layers: window and their own RoPE;
 * gemma2: soft-capped scores) → post-norm → += residual, GEGLU FFN → post-norm → += residual] × L → output norm →
 * logits (gemma2: soft-capped). The post-norms are one rmsnorm dispatch each (ACCUMULATE: x += norm(block out)); the
 * GELU gate and the final soft-cap (last row and every row) are projection epilogues.
 */
import { attention, embed, ffn, head, layerWindow, rowsHead, stages, type GraphContext, type GraphLists } from '../layers.ts';

export function gemmaGraph(g: GraphContext): GraphLists {
  const { c } = g;
  const layers = Array.from({ length: c.nLayers }, (_, i) => {
    const window = layerWindow(c, i);
    return stages(
      attention(g, i, {
        qkNorm: c.qkNorm, rope: window ? g.ropeLocal : g.rope, window, scale: c.attnScale, softcap: c.attnSoftcap,
        postNorm: 'post_attention_norm',
      }),
      ffn(g, i, { act: 'gelu', postNorm: 'post_ffw_norm' }),
    );
  });
  return { body: stages(embed(g), ...layers), head: head(g), rows: (out) => rowsHead(g, out) };
}
