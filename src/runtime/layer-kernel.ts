/**
 * The layer kernel (shaders/decode_layer.wgsl): a whole llama layer of one decoded token as one dispatch of one
 * workgroup, for models whose layers are small (Tuning.layerKernelMaxWeights). A decoded token of stories260K was
 * 28 dispatches (5 a layer, then the head) whose cost on SwiftShader is almost all fixed per dispatch; with the layer
 * kernel it is 8. Taken only for what the kernel computes: plain pre-norm llama blocks (no biases, no q/k norm,
 * whole-head adjacent-pair RoPE (GGUF llama's), no window, no soft-cap, no post-norms), float weights (f32/f16/bf16) of
 * one format, no LoRA; the KV cache in any of its formats (the kernel writes the new row itself: no kv_store dispatch).
 * Prefill keeps the graph's own dispatches (its matmuls already amortize the fixed cost).
 * The layer's four weights are copied once, back to back, into one buffer (the fused ones stay for prefill): the
 * kernel binds one weight array. For the small models this is chosen for, that copy is a few MiB at most.
 */
import type { Dispatch } from '../gpu/kernels.ts';
import { kvDefines } from '../gpu/kv-variants.ts';
import { isBlockFormat, weightDefines, type GpuWeight, type WeightStore } from '../gpu/weights.ts';
import { fuseRows, fuseVectors } from '../gpu/projection.ts';
import { embed, type GraphContext, type RopeTable } from './layers.ts';

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
  if (!max || k.lora || g.packed) return undefined;
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

/**
 * The decode dispatches of a llama graph whose every layer the layer kernel can run (else undefined: the graph keeps
 * its own): one dispatch per layer, the first also doing the embedding lookup and the last the output norm, logits
 * and argmax when those tables are within the same bound and format (stories260K: 28 -> 5 dispatches per token).
 * `head` is what still follows the body when decoding: [] when the last layer did it, else undefined (the graph's head).
 */
export function layerKernelDecode(g: GraphContext, needs: LayerKernelNeeds[]): { decode: Promise<Dispatch>[]; head?: Promise<Dispatch>[] } | undefined {
  const lws = needs.map((n, i) => layerKernelWeights(g, i, n));
  if (!lws.every((lw) => lw)) return undefined;
  const { k, c, w } = g;
  const fmt = lws[0]!.qkv.format.id;
  const table = (m: GpuWeight) => (m.format.id === fmt && m.rows * m.cols <= k.tuning.layerKernelMaxWeights ? m : undefined);
  const embd = c.embedScale === undefined ? table(w.matrix('token_embd.weight')) : undefined;
  const out = c.finalSoftcap ? undefined : table(c.tiedEmbeddings ? w.matrix('token_embd.weight') : w.matrix('output.weight'));
  // The last layer binds logits and the token too (9 storage buffers): only where the device allows them.
  const head = out && k.device.limits.maxStorageBuffersPerShaderStage >= 9 ? out : undefined;
  const L = needs.length;
  const decode = lws.map((lw, i) => decodeLayer(g, i, needs[i].rope!, lw!, { embd: i === 0 ? embd : undefined, out: i === L - 1 ? head : undefined }));
  return { decode: embd ? decode : [...embed(g).decode, ...decode], head: head ? [] : undefined };
}
/**
 * The layer's weights back to back (element offsets of each), in their common float format; copied again whenever
 * the weights change in place (WeightStore.copies: a LoRA merge).
 */
function packWeights(store: WeightStore, label: string, parts: GpuWeight[]): { data: GPUBuffer; offsets: number[]; elements: number } {
  const device = store.device;
  const bytesPer = parts[0].format.id === 'f32' ? 4 : 2;
  const sizes = parts.map((m) => m.rows * m.cols * bytesPer);
  const at = sizes.map((_, j) => sizes.slice(0, j).reduce((a, b) => a + b, 0));
  const data = device.createBuffer({ label, size: at.at(-1)! + sizes.at(-1)!, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const copy = () => {
    const enc = device.createCommandEncoder({ label });
    parts.forEach((m, j) => enc.copyBufferToBuffer(m.data, 0, data, at[j], sizes[j]));
    device.queue.submit([enc.finish()]);
  };
  copy();
  store.copies.push(copy);
  store.bytes += data.size;
  return { data, offsets: at.map((b) => b / bytesPer), elements: data.size / bytesPer };
}

function decodeLayer(g: GraphContext, i: number, rope: RopeTable, lw: LayerWeights, fold: { embd?: GpuWeight; out?: GpuWeight }): Promise<Dispatch> {
  const { k, c, w, a } = g;
  const p = `blk.${i}.`;
  const label = `${p}layer`;
  const parts = [lw.qkv, lw.o, lw.gateUp, lw.down, ...(fold.embd ? [fold.embd] : []), ...(fold.out ? [fold.out] : [])];
  const { data, offsets, elements } = packWeights(w, `${label}.w`, parts);
  const norms = fuseVectors(w, [`${p}attn_norm.weight`, `${p}ffn_norm.weight`, ...(fold.out ? ['output_norm.weight'] : [])]);
  const qd = c.nHeads * c.headDim;
  const kvd = c.nKvHeads * c.headDim;
  const params = new ArrayBuffer(64);
  new Uint32Array(params, 0, 7).set([c.dim, qd, kvd, c.ffnDim, c.nHeads, c.nKvHeads, c.headDim]);
  new Float32Array(params, 28, 2).set([c.normEps, 1 / Math.sqrt(c.headDim)]);
  new Uint32Array(params, 36, 3).set(offsets.slice(1, 4));
  new Uint32Array(params, 48, 3).set([fold.embd ? offsets[4] : 0, fold.out ? offsets.at(-1)! : 0, c.vocabSize]);
  const cache = g.kv(i);
  const defines = [...weightDefines(lw.qkv.format), 'W_FIXED', ...kvDefines(g.kvFormat ?? 'f32'), ...(k.tuning.subgroups ? ['SUBGROUPS'] : []), ...(fold.embd ? ['EMBED'] : []), ...(fold.out ? ['HEAD'] : []), ...(c.headDim <= 16 ? ['HEAD_REGS'] : [])];
  return k.make('decode_layer', {
    label, params, defines,
    constants: { WG: k.tuning.layerWG, DIM: c.dim, QKV: qd + 2 * kvd, ACT4: (c.dim + qd + c.ffnDim) / 4, HD4: c.headDim / 4 },
    // W_FIXED: the packed weights' length in 4-element units (a vec4<f32> or an f16/bf16 vec2<u32> each).
    lengths: { W_LEN: elements / 4 },
    buffers: { 2: a.x, 3: a.ids, 4: norms, 5: a.logits, 6: rope.invFreq, 7: a.tokenOut, 8: data, 10: cache.k, 11: cache.v },
    grid: () => [1, 1, 1],
  });
}
