/**
 * The layer kernel (shaders/decode_layer.wgsl): a whole llama layer of one decoded token as one dispatch of one
 * workgroup, for models whose layers are small (Tuning.layerKernelMaxWeights). A decoded token of stories260K was
 * 28 dispatches (5 a layer, then the head) whose cost on SwiftShader is almost all fixed per dispatch; with the layer
 * kernel it is 8. Taken only for what the kernel computes: plain pre-norm llama blocks (no biases, no q/k norm,
 * whole-head adjacent-pair RoPE (GGUF llama's), no window, no soft-cap, no post-norms), an f32 KV cache, float weights (f32/f16/bf16) of one
 * format, no LoRA. Prefill keeps the graph's own dispatches (its matmuls already amortize the fixed cost).
 * The layer's four weights are copied once, back to back, into one buffer (the fused ones stay for prefill): the
 * kernel binds one weight array. For the small models this is chosen for, that copy is a few MiB at most.
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
import { isBlockFormat, weightDefines, type GpuWeight, type WeightStore } from '../gpu/weights.ts';
import { fuseRows, fuseVectors } from '../gpu/projection.ts';
import type { GraphContext, RopeTable, Stage } from './layers.ts';

/** What the llama graph asks of one layer (layers.ts AttentionOptions, the parts the kernel cannot do). */
export interface LayerKernelNeeds {
  bias?: boolean;
  qkNorm?: boolean;
  rope: RopeTable | null;
  window?: number;
}

interface LayerWeights {
  qkv: GpuWeight;
  o: GpuWeight;
  gateUp: GpuWeight;
  down: GpuWeight;
}

/** Layer i's weights when the layer kernel can run it, else undefined (the graph's own decode dispatches stay). */
export function layerKernelWeights(g: GraphContext, i: number, n: LayerKernelNeeds): LayerWeights | undefined {
  const { k, c, w } = g;
  const max = k.tuning.layerKernelMaxWeights;
  if (!max || k.lora || g.packed || (g.kvFormat ?? 'f32') !== 'f32') return undefined;
  if (c.headDim % 4 || c.ffnDim % 4 || c.dim % 4) return undefined;
  if (n.bias || n.qkNorm || !n.rope || n.rope.neox || n.rope.headDim !== c.headDim || (n.rope.mscale ?? 1) !== 1 || n.window) return undefined;
  const p = `blk.${i}.`;
  const qkv = fuseRows(w, ['attn_q', 'attn_k', 'attn_v'].map((s) => `${p}${s}.weight`));
  const gateUp = fuseRows(w, [`${p}ffn_gate.weight`, `${p}ffn_up.weight`]);
  if (qkv.length !== 1 || gateUp.length !== 1) return undefined;
  const lw = { qkv: qkv[0].w, o: w.matrix(`${p}attn_output.weight`), gateUp: gateUp[0].w, down: w.matrix(`${p}ffn_down.weight`) };
  const all = Object.values(lw);
  if (all.some((m) => isBlockFormat(m.format) || m.format.id !== lw.qkv.format.id)) return undefined;
  if (all.reduce((s, m) => s + m.rows * m.cols, 0) > max) return undefined;
  const qd = c.nHeads * c.headDim;
  const floats = 2 * c.dim + qd + 2 * c.nKvHeads * c.headDim + qd + c.ffnDim + k.tuning.layerWG;
  if (floats * 4 > k.gpu.caps.maxComputeWorkgroupStorageSize) return undefined;
  return lw;
}

/** `body`'s decode dispatches of layer i replaced by the layer kernel when it applies (layerKernelWeights). */
export function withLayerKernel(g: GraphContext, i: number, n: LayerKernelNeeds, body: Stage): Stage {
  const lw = layerKernelWeights(g, i, n);
  return lw ? { decode: [decodeLayer(g, i, n.rope!, lw)], prefill: body.prefill } : body;
}

/**
 * The layer's weights back to back (element offsets of each), in their common float format; copied again whenever
 * the weights change in place (WeightStore.copies: a LoRA merge).
 */
function packWeights(store: WeightStore, label: string, lw: LayerWeights): { data: GPUBuffer; offsets: number[] } {
  const device = store.device;
  const parts = [lw.qkv, lw.o, lw.gateUp, lw.down];
  const bytesPer = lw.qkv.format.id === 'f32' ? 4 : 2;
  const sizes = parts.map((m) => m.rows * m.cols * bytesPer);
  const at = sizes.map((_, j) => sizes.slice(0, j).reduce((a, b) => a + b, 0));
  const data = device.createBuffer({ label, size: at[3] + sizes[3], usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const copy = () => {
    const enc = device.createCommandEncoder({ label });
    parts.forEach((m, j) => enc.copyBufferToBuffer(m.data, 0, data, at[j], sizes[j]));
    device.queue.submit([enc.finish()]);
  };
  copy();
  store.copies.push(copy);
  store.bytes += data.size;
  return { data, offsets: at.map((b) => b / bytesPer) };
}

function decodeLayer(g: GraphContext, i: number, rope: RopeTable, lw: LayerWeights): Promise<Dispatch> {
  const { k, c, w } = g;
  const p = `blk.${i}.`;
  const label = `${p}layer`;
  const { data, offsets } = packWeights(w, `${label}.w`, lw);
  const norms = fuseVectors(w, [`${p}attn_norm.weight`, `${p}ffn_norm.weight`]);
  const qd = c.nHeads * c.headDim;
  const kvd = c.nKvHeads * c.headDim;
  const params = new ArrayBuffer(48);
  new Uint32Array(params, 0, 7).set([c.dim, qd, kvd, c.ffnDim, c.nHeads, c.nKvHeads, c.headDim]);
  new Float32Array(params, 28, 2).set([c.normEps, 1 / Math.sqrt(c.headDim)]);
  new Uint32Array(params, 36, 3).set(offsets.slice(1));
  const cache = g.kv(i);
  const sub = k.tuning.subgroups;
  return k.make('decode_layer', {
    label, params,
    defines: [...weightDefines(lw.qkv.format), ...(sub ? ['SUBGROUPS'] : [])],
    constants: { WG: k.tuning.layerWG, DIM: c.dim, QKV: qd + 2 * kvd, ACT4: (c.dim + qd + c.ffnDim) / 4 },
    buffers: { 2: g.a.x, 4: norms, 6: rope.invFreq, 8: data, 10: cache.k, 11: cache.v },
    grid: () => [1, 1, 1],
  });
}
