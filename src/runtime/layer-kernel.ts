/**
 * The layer kernel (shaders/decode_layer.wgsl): a whole llama layer of one decoded token as one dispatch of one
 * workgroup, for models whose layers are small (Tuning.layerKernelMaxWeights). A decoded token of stories260K was
 * 28 dispatches (5 a layer, then the head) whose cost on SwiftShader is almost all fixed per dispatch; with the layer
 * kernel it is 8. Taken only for what the kernel computes: plain pre-norm llama blocks (no biases, no q/k norm,
 * whole-head adjacent-pair RoPE (GGUF llama's), no window, no soft-cap, no post-norms), an f32 KV cache, float weights (f32/f16/bf16) of one
 * format, no LoRA. Prefill keeps the graph's own dispatches (its matmuls already amortize the fixed cost).
 * The layer's four weights are copied once, back to back, into one buffer (the fused ones stay for prefill): the
 * kernel binds one weight array. For the small models this is chosen for, that copy is a few MiB at most.
 * `Tuning.layerSplit` shares each layer out over that many workgroups (CPU adapters: 2, one per SwiftShader worker
 * thread), one or two dispatches a layer (`splitLayer`), the head as its own dispatches (`splitHead`).
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
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

/**
 * The decode dispatches of a llama graph whose every layer the layer kernel can run (else undefined: the graph keeps
 * its own): one dispatch per layer, the first also doing the embedding lookup and the last the output norm, logits
 * and argmax when those tables are within the same bound and format (stories260K: 28 -> 5 dispatches per token).
 * With `Tuning.layerSplit` > 1 (and n_kv_heads a multiple of it, a folded head, `g.buffer`), each layer is instead
 * one or two dispatches of that many workgroups (`splitLayer`), then the head's logits and the argmax (stories260K: 7
 * dispatches per token, 12 with `layerSplitHeads`).
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
  const L = needs.length;
  // The last layer binds logits and the token too (9 storage buffers): only where the device allows them.
  const head = out && k.device.limits.maxStorageBuffersPerShaderStage >= 9 ? out : undefined;
  // One copy of each layer's weights for both paths (the split head reads the output table in place).
  const packs = lws.map((lw, i) => packWeights(w, `blk.${i}.layer.w`, [
    lw!.qkv, lw!.o, lw!.gateUp, lw!.down, ...(i === 0 && embd ? [embd] : []), ...(i === L - 1 && head ? [head] : []),
  ]));
  const lead = embd ? [] : embed(g).decode;
  const one = () => lws.map((lw, i) => decodeLayer(g, i, needs[i].rope!, lw!, packs[i], { embd: i === 0 ? embd : undefined, out: i === L - 1 ? head : undefined }));
  const nwg = k.tuning.layerSplit;
  if (!(nwg > 1 && out && g.buffer && c.nKvHeads % nwg === 0)) return { decode: [...lead, ...one()], head: head ? [] : undefined };
  // Two sets of nwg residual rows: split heads, layer i reads set 0 in PHASE_ATTN and writes set 1, which its
  // PHASE_FFN reads to write set 0; attention repeated (one dispatch a layer), layer i reads set (i + 1) % 2 and
  // writes set i % 2.
  const part = g.buffer('layer.part', 2 * nwg * c.dim * 4);
  const set = (i: number) => (i % 2) * nwg * c.dim;
  const heads = k.tuning.layerSplitHeads;
  const split = lws.flatMap((lw, i) => splitLayer(g, i, needs[i].rope!, lw!, packs[i], { embd: i === 0 ? embd : undefined, part, nwg, heads, inOff: set(i + 1), outOff: set(i) }));
  const splitOut = splitHead(g, out, part, heads ? 0 : set(L - 1), nwg);
  const maxKv = k.tuning.layerSplitMaxKv;
  if (!maxKv || !head) return { decode: [...lead, ...split], head: splitOut };
  // Both paths, each dispatch skipped (grid 0) on the other side of maxKv cache rows: a step's only state across
  // tokens is the KV cache, which both write alike.
  const when = (ds: Promise<Dispatch>[], use: (kvLen: number) => boolean) =>
    ds.map((p) => p.then((d): Dispatch => ({ ...d, grid: (n, kvLen) => (use(kvLen) ? d.grid(n, kvLen) : [0, 0, 0]) })));
  const short = (kvLen: number) => kvLen <= maxKv;
  return { decode: [...lead, ...when(split, short), ...when(one(), (kvLen) => !short(kvLen))], head: when(splitOut, short) };
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

/** The kernel's params uniform (decode_layer.wgsl Params); `offsets`: element offsets of o, gate_up, down, embd, out. */
function layerParams(g: GraphContext, offsets: number[], io: { inOff?: number; outOff?: number } = {}): ArrayBuffer {
  const { c } = g;
  const params = new ArrayBuffer(80);
  new Uint32Array(params, 0, 7).set([c.dim, c.nHeads * c.headDim, c.nKvHeads * c.headDim, c.ffnDim, c.nHeads, c.nKvHeads, c.headDim]);
  new Float32Array(params, 28, 2).set([c.normEps, 1 / Math.sqrt(c.headDim)]);
  new Uint32Array(params, 36, 8).set([...offsets, c.vocabSize, io.inOff ?? 0, io.outOff ?? 0]);
  return params;
}

/** Defines and workgroup-array sizes every variant of the kernel shares. */
function layerShape(g: GraphContext, w: GpuWeight): { defines: string[]; constants: Record<string, number> } {
  const { k, c } = g;
  const qd = c.nHeads * c.headDim;
  return {
    defines: [...weightDefines(w.format), 'W_FIXED', ...(k.tuning.subgroups ? ['SUBGROUPS'] : []), ...(c.headDim <= 16 ? ['HEAD_REGS'] : [])],
    constants: { WG: k.tuning.layerWG, DIM: c.dim, QKV: qd + 2 * c.nKvHeads * c.headDim, ACT4: (c.dim + qd + c.ffnDim) / 4, HD4: c.headDim / 4 },
  };
}

type Packed = ReturnType<typeof packWeights>;

/** Layer i as one workgroup; `pack`: [qkv; o; gate_up; down], then the folded tables (embd, out) in that order. */
function decodeLayer(g: GraphContext, i: number, rope: RopeTable, lw: LayerWeights, pack: Packed, fold: { embd?: GpuWeight; out?: GpuWeight }): Promise<Dispatch> {
  const { k, w, a } = g;
  const p = `blk.${i}.`;
  const label = `${p}layer`;
  const { data, offsets, elements } = pack;
  const norms = fuseVectors(w, [`${p}attn_norm.weight`, `${p}ffn_norm.weight`, ...(fold.out ? ['output_norm.weight'] : [])]);
  const params = layerParams(g, [...offsets.slice(1, 4), fold.embd ? offsets[4] : 0, fold.out ? offsets.at(-1)! : 0]);
  const cache = g.kv(i);
  const shape = layerShape(g, lw.qkv);
  const defines = [...shape.defines, ...(fold.embd ? ['EMBED'] : []), ...(fold.out ? ['HEAD'] : [])];
  return k.make('decode_layer', {
    label, params, defines, constants: shape.constants,
    // W_FIXED: the packed weights' length in 4-element units (a vec4<f32> or an f16/bf16 vec2<u32> each).
    lengths: { W_LEN: elements / 4 },
    buffers: { 2: a.x, 3: a.ids, 4: norms, 5: a.logits, 6: rope.invFreq, 7: a.tokenOut, 8: data, 10: cache.k, 11: cache.v },
    grid: () => [1, 1, 1],
  });
}

/**
 * Layer i as dispatches of `nwg` workgroups each, with no synchronization inside a dispatch (SwiftShader runs a
 * dispatch's workgroups on its worker threads, one per core; one workgroup keeps a token's work on one core), the
 * residual passed as rows of `part` that the next dispatch sums. `heads`: PHASE_ATTN, workgroup g its share of the
 * KV heads (the norm recomputed by each; its q/k/v rows, RoPE, its cache rows, its heads' attention and their
 * columns of o), from set 0 to set 1; then PHASE_FFN, each its share of the FFN's hidden units and of the down
 * projection, from set 1 to set 0. Else one PHASE_LAYER dispatch: each workgroup the whole attention and o, then its
 * share of the FFN, from set inOff to set outOff.
 */
function splitLayer(
  g: GraphContext, i: number, rope: RopeTable, lw: LayerWeights, pack: Packed,
  o: { embd?: GpuWeight; part: GPUBuffer; nwg: number; heads: boolean; inOff: number; outOff: number },
): Promise<Dispatch>[] {
  const { k, c, w, a } = g;
  const p = `blk.${i}.`;
  const { data, offsets, elements } = pack;
  const norms = fuseVectors(w, [`${p}attn_norm.weight`, `${p}ffn_norm.weight`]);
  const shape = layerShape(g, lw.qkv);
  const cache = g.kv(i);
  // Layer 0's first dispatch reads the embedding row (EMBED) or, when the table is not folded, x (the embedding
  // dispatch's output).
  const first = i > 0 ? 'IN_PART' : o.embd ? 'EMBED' : 'IN_X';
  // Labels (the profiler's kernel names after `blk.N.`): layer.attn and layer.ffn, or layer.split.
  const phase = (name: string, defines: string[], io: { inOff: number; outOff: number }) =>
    k.make('decode_layer', {
      label: `${p}layer.${name === 'layer' ? 'split' : name}`, params: layerParams(g, [...offsets.slice(1, 4), o.embd ? offsets[4] : 0, 0], io),
      defines: [...shape.defines, 'SPLIT', `PHASE_${name.toUpperCase()}`, ...defines],
      constants: { ...shape.constants, NWG: o.nwg },
      lengths: { W_LEN: elements / 4 },
      buffers: { 2: a.x, 3: a.ids, 4: norms, 6: rope.invFreq, 8: data, 10: cache.k, 11: cache.v, 12: o.part },
      grid: () => [o.nwg, 1, 1],
    });
  const rows = o.nwg * c.dim;
  return o.heads
    ? [phase('attn', ['DO_ATTN', first], { inOff: 0, outOff: rows }), phase('ffn', ['DO_FFN', 'IN_PART'], { inOff: rows, outOff: 0 })]
    : [phase('layer', ['DO_ATTN', 'DO_FFN', first], o)];
}

/** The decode head after split layers: output_norm and the logits as `nwg` workgroups of vocabulary rows, then argmax. */
function splitHead(g: GraphContext, out: GpuWeight, part: GPUBuffer, inOff: number, nwg: number): Promise<Dispatch>[] {
  const { k, c, w, a } = g;
  const shape = layerShape(g, out);
  return [
    k.make('decode_layer', {
      label: 'output.split', params: layerParams(g, [0, 0, 0, 0, 0], { inOff }),
      defines: [...shape.defines, 'SPLIT', 'PHASE_HEAD', 'IN_PART'], constants: { ...shape.constants, NWG: nwg },
      // The table's own buffer: a fixed-length binding may be shorter than its buffer.
      lengths: { W_LEN: (out.rows * out.cols) / 4 },
      buffers: { 4: w.vector('output_norm.weight'), 5: a.logits, 8: out.data, 12: part },
      grid: () => [nwg, 1, 1],
    }),
    k.argmax({ label: 'argmax', logits: a.logits, result: a.tokenOut, n: c.vocabSize }),
  ];
}
