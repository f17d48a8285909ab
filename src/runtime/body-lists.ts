/**
 * A decoder's body (embedding and layers) as the fixed dispatch lists the Transformer runs: the family's graph
 * requested over a GraphContext, its dispatches settled together. Built once at load and again for each LoRA
 * adapter set (lora/lora-set.ts), which the Transformer swaps in with `useBody`.
 */
import type { ModelConfig } from '../model/types.ts';
import type { Dispatch } from '../gpu/kernels.ts';
import { familyOf } from '../families/index.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { Graph, Stage } from './layers.ts';

/** The body's dispatches for one decoded token and for a prefill chunk. */
export interface BodyLists {
  decode: Dispatch[];
  prefill: Dispatch[];
  /**
   * Present when `decode` ends in the logits and their argmax (the layer kernel, layers.ts Stage.decodeHead): what is
   * left of the head before its pick ([]).
   */
  decodeHead?: Dispatch[];
}

/** The family's text-generation graph; embedding-only families have none. */
export function decoderGraph(c: ModelConfig): Graph {
  const graph = familyOf(c.arch).graph;
  if (!graph) throw new UnsupportedModelError(`${c.arch} is an embedding model, not a text generator: use engine.embed() or engine.embeddings.create().`);
  return graph;
}

/** Awaits a body's dispatches all at once: the graph requested every one before any is awaited, so pipeline variants compile concurrently. */
export async function settleBody(body: Stage): Promise<BodyLists> {
  const [decode, prefill, decodeHead] = await Promise.all([
    Promise.all(body.decode), Promise.all(body.prefill), body.decodeHead && Promise.all(body.decodeHead),
  ]);
  return { decode, prefill, decodeHead };
}
