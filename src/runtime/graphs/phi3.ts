/**
 * phi3 (Phi-3 / 3.5 / 4-mini): the llama block, but its files ship q/k/v as one matrix (`attn_qkv`, rows [q | k | v])
 * and gate/up as another (`ffn_up`, rows [gate | up]); they run as they are, as fused projections (gpu/projection.ts),
 * with no copy. Partial rotary and LongRoPE are the RoPE table's (runtime/forward-buffers.ts, layers.ts `attention`).
 */
import { projectionOf } from '../../gpu/projection.ts';
import { attention, embed, ffn, head, layerWindow, rowsHead, stages, type GraphContext, type GraphLists } from '../layers.ts';

export function phi3Graph(g: GraphContext): GraphLists {
  const { c, w } = g;
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const layers = Array.from({ length: c.nLayers }, (_, i) => {
    const p = `blk.${i}.`;
    const qkv = [projectionOf(w.matrix(`${p}attn_qkv.weight`), [{ name: `${p}q`, rows: q }, { name: `${p}k`, rows: kv }, { name: `${p}v`, rows: kv }])];
    const gateUp = [projectionOf(w.matrix(`${p}ffn_up.weight`), [{ name: `${p}gate`, rows: c.ffnDim }, { name: `${p}up`, rows: c.ffnDim }])];
    return stages(attention(g, i, { qkv, window: layerWindow(c, i) }), ffn(g, i, { gateUp }));
  });
  return { body: stages(embed(g), ...layers), head: head(g), rows: (out) => rowsHead(g, out) };
}
