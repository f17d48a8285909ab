import type { Gpu } from './device.ts';
import { kernelSource, type KernelName } from './shaders.ts';
import { declaredBindings } from './preprocess.ts';
import { isBlockFormat, weightDefines, type GpuWeight } from './weights.ts';
import { defaultTuning, type Tuning } from './tuning.ts';
import { kvDefines, type KvFormat } from './kv-variants.ts';
import { linearDefines, outAtPos, outMode, splitBuffers, splitRows, type LinearOptions } from './linear-out.ts';
export type { KvFormat };

export { defaultTuning, loadTuning, type Tuning } from './tuning.ts';

/** One recorded dispatch: pipeline and bind group made once at load, grid computed per step from the token count. */
export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** Workgroups for a step of nTokens tokens whose cache holds kvLen rows after it (split-K attention reads it). */
  grid: (nTokens: number, kvLen: number) => [number, number, number];
  /** Dispatches encoded right before this one (a LoRA projection's A·x, src/lora/lora-kernels.ts). */
  before?: Dispatch[];
}

export function encodeDispatch(pass: GPUComputePassEncoder, d: Dispatch, nTokens: number, kvLen = nTokens): void {
  if (d.before) for (const b of d.before) encodeDispatch(pass, b, nTokens, kvLen);
  const [x, y, z] = d.grid(nTokens, kvLen);
  if (x === 0 || y === 0 || z === 0) return;
  pass.setPipeline(d.pipeline);
  pass.setBindGroup(0, d.bindGroup);
  pass.dispatchWorkgroups(x, y, z);
}

const MAX_DIM = 65535;
/** n workgroups laid out so no dimension passes the per-dimension limit (kernels use `flat_workgroup`). */
export function grid1d(n: number): [number, number, number] {
  return n <= MAX_DIM ? [n, 1, 1] : [MAX_DIM, Math.ceil(n / MAX_DIM), 1];
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

interface MakeOptions {
  label: string;
  defines?: string[];
  constants?: Record<string, number>;
  /**
   * Array lengths written into the WGSL text (each `NAME` token becomes the integer): a storage array declared with a
   * fixed length instead of a runtime-sized one. WGSL allows no override there, and a fixed length spares every access
   * the robustness clamp against arrayLength(), which on SwiftShader is an integer division per load.
   */
  lengths?: Record<string, number>;
  /** Static parameters for binding 0 (a uniform made once). */
  params?: ArrayBuffer;
  /** Storage bindings by number. */
  buffers: Record<number, GPUBuffer | undefined>;
  grid: (nTokens: number, kvLen: number) => [number, number, number];
}

/**
 * Builds dispatches. Pipelines are cached by kernel + variant + constants, so a 30-layer model compiles each variant
 * once; everything is created at load, nothing per token.
 */
/** The GPU as a loaded model reports it (ModelInfo.gpu). */
export interface GpuInfo {
  adapter: string;
  f16: boolean;
  subgroups: boolean;
  f16Compute: boolean;
}

export class Kernels {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  /** A LoRA view (lora/lora-kernels.ts): projections must stay separate dispatches (the layer kernel is not taken). */
  lora = false;

  constructor(
    readonly gpu: Gpu,
    /** The per-step uniform (binding 1 of every kernel that reads `step`). */
    readonly stepBuffer: GPUBuffer,
    readonly tuning: Tuning = defaultTuning(gpu.caps),
  ) {
    if (tuning.matmulF16 && !gpu.caps.f16) throw new Error(`Tuning.matmulF16 needs an adapter with shader-f16 (${gpu.caps.adapterInfo} has none)`);
  }

  get device(): GPUDevice {
    return this.gpu.device;
  }

  /**
   * What `ModelInfo.gpu` reports: the adapter, its features (`f16`: `shader-f16`) and whether the prefill matmul
   * computes in f16 (LoadOptions.f16Compute).
   */
  get info(): GpuInfo {
    const c = this.gpu.caps;
    return { adapter: c.adapterInfo, f16: c.f16, subgroups: c.subgroups, f16Compute: this.tuning.matmulF16 };
  }

  /** Number of distinct pipelines compiled so far. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  private pipeline(name: KernelName, code: string, constants: Record<string, number>): Promise<GPUComputePipeline> {
    const key = `${name}\n${JSON.stringify(constants)}\n${code}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: name, code });
      p = this.device.createComputePipelineAsync({
        label: name,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }

  uniform(label: string, data: ArrayBuffer): GPUBuffer {
    const buf = this.device.createBuffer({ label, size: Math.max(16, data.byteLength), usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data));
    buf.unmap();
    return buf;
  }

  async make(name: KernelName, o: MakeOptions): Promise<Dispatch> {
    let code = kernelSource(name, o.defines ?? []);
    for (const [k, v] of Object.entries(o.lengths ?? {})) code = code.replace(new RegExp(`\\b${k}\\b`, 'g'), `${Math.max(1, Math.floor(v))}u`);
    const pipeline = await this.pipeline(name, code, o.constants ?? {});
    const entries: GPUBindGroupEntry[] = [];
    // Auto layouts drop bindings the entry point never touches, so the shared `step` uniform is bound only when used.
    const bindings = [...declaredBindings(code)].filter((b) => b !== 1 || /\bstep\./.test(code));
    for (const b of bindings.sort((a, c) => a - c)) {
      let buffer: GPUBuffer | undefined;
      if (b === 0) buffer = o.params && this.uniform(`${o.label}.params`, o.params);
      else if (b === 1) buffer = this.stepBuffer;
      else buffer = o.buffers[b];
      if (!buffer) throw new Error(`kernel ${name} (${o.label}) declares binding ${b} but none was given`);
      entries.push({ binding: b, resource: { buffer } });
    }
    const bindGroup = this.device.createBindGroup({ label: o.label, layout: pipeline.getBindGroupLayout(0), entries });
    return { label: o.label, pipeline, bindGroup, grid: o.grid };
  }

  // ---- one builder per operation --------------------------------------------------------------------------

  /**
   * y = x W^T for the last token of the step (decode), with the fusions of matvec.wgsl: `norm` (x is the residual
   * stream, RMSNorm applied on the fly), `rope` (rotate q/k pairs at the token's position), bias, KV-cache row,
   * residual add, SwiGLU gate.
   */
  matvec(o: LinearOptions & {
    norm?: { weight: GPUBuffer; eps: number }; rope?: { headDim: number; neox: boolean; invFreq: GPUBuffer };
    /** y = softcap·tanh(y / softcap) before writing (gemma2's final logits). */
    softcap?: number;
    /** With `rope`: only weight rows below this are rotated (fused q/k/v: not v). Default: all. */
    ropeRows?: number;
  }): Promise<Dispatch> {
    const defines = linearDefines(o);
    if (o.norm) defines.push('NORM');
    if (o.softcap) defines.push('SOFTCAP');
    if (o.rope) defines.push('ROPE', ...(o.rope.neox ? ['NEOX'] : []));
    if (o.rope || o.glu) defines.push('PAIRED');
    if (this.tuning.matvecSubgroups) defines.push('SUBGROUPS');
    if (this.tuning.matvecRows4) defines.push('ROWS4');
    // Float weights as a fixed-length array where the tuning asks (CPU adapters; weights.wgsl W_FIXED).
    const fixed = this.tuning.fixedWeightLengths && !isBlockFormat(o.w.format);
    if (fixed) defines.push('W_FIXED');
    const params = new ArrayBuffer(48);
    new Uint32Array(params, 0, 3).set([o.w.rows, o.w.cols, o.rope?.headDim ?? 0]);
    new Float32Array(params, 12, 1)[0] = o.norm?.eps ?? 0;
    new Uint32Array(params, 16, 2).set([outMode(o), outAtPos(o)]);
    new Float32Array(params, 24, 1)[0] = o.softcap ?? 0;
    new Uint32Array(params, 28, 5).set([o.ropeRows ?? o.w.rows, ...splitRows(o), o.lora?.rank ?? 0, o.lora?.offset ?? 0]);
    const { matvecWG: WG, matvecRows: ROWS } = this.tuning;
    return this.make('matvec', {
      label: `${o.label}.vec`, defines, params, constants: { WG, ROWS },
      lengths: fixed ? { W_LEN: o.w.data.size / ((o.w.format.id === 'f32' ? 4 : 2) * 4) } : undefined,
      buffers: { 2: o.x, 3: o.y, 4: o.bias, 5: o.norm?.weight, 6: o.rope?.invFreq, 8: o.w.data, 9: o.w.scales, ...splitBuffers(o), 12: o.lora?.buffer },
      grid: () => grid1d(ceilDiv(o.w.rows, ROWS)),
    });
  }

  /**
   * y = x W^T (+ bias …) for every token of the step (prefill): the register-tiled matmul.wgsl (`F16`: f16 tiles
   * with f32 sums, Tuning.matmulF16), or DIRECT on CPU adapters.
   */
  matmul(o: LinearOptions & { /** y = softcap·tanh(y / softcap) before writing (gemma2's logits over every row). */ softcap?: number }): Promise<Dispatch> {
    const direct = this.tuning.matmulDirect;
    const params = new ArrayBuffer(48);
    new Uint32Array(params, 0, 6).set([o.w.rows, o.w.cols, outMode(o), outAtPos(o), ...splitRows(o)]);
    new Float32Array(params, 24, 1)[0] = o.softcap ?? 0;
    new Uint32Array(params, 28, 2).set([o.lora?.rank ?? 0, o.lora?.offset ?? 0]);
    // GLU: a 4-row block (DIRECT) holds 2 pairs, a 64-row tile 32.
    const rowBlocks = o.glu ? ceilDiv(o.w.rows / 2, 2) : ceilDiv(o.w.rows, 4);
    const rowTiles = o.glu ? ceilDiv(o.w.rows / 2, 32) : ceilDiv(o.w.rows, 64);
    return this.make('matmul', {
      label: `${o.label}.mat`,
      defines: [...linearDefines(o), ...(direct ? ['DIRECT'] : this.tuning.matmulF16 ? ['F16'] : []), ...(o.softcap ? ['SOFTCAP'] : [])],
      params,
      buffers: { 2: o.x, 3: o.y, 4: o.bias, 8: o.w.data, 9: o.w.scales, ...splitBuffers(o), 12: o.lora?.buffer },
      // DIRECT: one invocation per 4x4 block, 16 per workgroup.
      grid: (n) => (direct ? grid1d(ceilDiv(rowBlocks * ceilDiv(n, 4), 16)) : [rowTiles, ceilDiv(n, 64), 1]),
    });
  }

  rmsnorm(o: {
    label: string; x: GPUBuffer; out?: GPUBuffer; weight: GPUBuffer; dim: number; eps: number;
    rowsPerToken?: number; rowsAtPos?: boolean;
    /** out += the normalized row (a post-norm before the residual add). */
    accumulate?: boolean;
    /**
     * In place, one row per head: rotate the normalized head at its token's position (q/k norm + RoPE in one
     * dispatch); `rotDim` leading dimensions turn, times `mscale`.
     */
    rope?: { neox: boolean; invFreq: GPUBuffer; rotDim: number; mscale?: number };
  }): Promise<Dispatch> {
    const defines: string[] = this.tuning.subgroups ? ['SUBGROUPS'] : [];
    if (!o.out) defines.push('IN_PLACE');
    else if (o.accumulate) defines.push('ACCUMULATE');
    if (o.rowsAtPos) defines.push('ROWS_AT_POS');
    if (o.rope) {
      if (o.out) throw new Error(`rmsnorm ${o.label}: the RoPE variant works in place`);
      defines.push('ROPE', ...(o.rope.neox ? ['NEOX'] : []));
    }
    const rpt = o.rowsPerToken ?? 1;
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 2).set([o.dim, rpt]);
    new Float32Array(params, 8, 1)[0] = o.eps;
    new Uint32Array(params, 12, 1)[0] = o.rope?.rotDim ?? 0;
    new Float32Array(params, 16, 1)[0] = o.rope?.mscale ?? 1;
    return this.make('rmsnorm', {
      label: o.label, defines, params, constants: { WG: this.tuning.rmsnormWG },
      buffers: { 2: o.x, 3: o.out, 4: o.weight, 5: o.rope?.invFreq },
      grid: (n) => grid1d(n * rpt),
    });
  }

  /**
   * `invFreq`: rotDim/2 f32 values from `ropeInvFreq` (src/model/rope.ts). `rotDim`: dimensions turned per head
   * (default headDim; fewer: partial rotary); `mscale`: multiplier of the turned pairs (LongRoPE's attention factor).
   */
  rope(o: {
    label: string; x: GPUBuffer; nHeads: number; headDim: number; neox: boolean; atPos?: boolean; invFreq: GPUBuffer; positions?: GPUBuffer;
    rotDim?: number; mscale?: number;
  }): Promise<Dispatch> {
    const defines: string[] = [];
    if (o.neox) defines.push('NEOX');
    if (o.positions) defines.push('POSITIONS');
    const rot = o.rotDim ?? o.headDim;
    const params = new ArrayBuffer(32);
    new Uint32Array(params, 0, 4).set([o.nHeads, o.headDim, o.atPos ? 1 : 0, rot]);
    new Float32Array(params, 16, 1)[0] = o.mscale ?? 1;
    return this.make('rope', {
      label: o.label, defines, params,
      buffers: { 2: o.x, 4: o.invFreq, 5: o.positions },
      grid: (n) => grid1d(ceilDiv((n * o.nHeads * rot) / 2, 64)),
    });
  }

  /**
   * Causal attention over the KV cache; with `segments` ([n_tokens × (begin, end)] u32 key ranges), bidirectional
   * attention of packed sequences over k/v rows of the same step instead (encoders).
   */
  attention(o: {
    label: string; q: GPUBuffer; out: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; nHeads: number; nKvHeads: number; headDim: number;
    segments?: GPUBuffer;
    /** Multiplier of q·k (default 1/√headDim). */
    scale?: number;
    /** Sliding window: a query sees only the last `window` positions (0 or absent: all). */
    window?: number;
    /** Attention logit soft-capping (gemma2), 0 or absent: none. */
    softcap?: number;
    /** The caches' format (kv.wgsl; default f32). */
    kvFormat?: KvFormat;
    /**
     * Split-K (decode only, one query token): the keys are cut into chunks of at least `chunk`, at most `maxSplits`
     * of them, each chunk's partial result written to `part` ([nHeads, maxSplits, headDim + 2] f32); follow this
     * dispatch with `attentionMerge` of the same options.
     */
    split?: AttentionSplit;
  }): Promise<Dispatch> {
    if (o.headDim > 256) throw new Error(`head_dim ${o.headDim} > 256 is not supported by attention.wgsl`);
    const kvFormat = o.kvFormat ?? 'f32';
    if (kvFormat !== 'f32' && o.headDim % 4) throw new Error(`a ${kvFormat} KV cache needs head_dim % 4 == 0`);
    const serial = this.tuning.attentionSerial && o.headDim % 4 === 0;
    const packed = kvFormat !== 'f32';
    const split = o.split;
    return this.make('attention', {
      label: o.label, params: attentionParams(o),
      defines: [
        ...(serial ? ['SERIAL'] : this.tuning.subgroups ? ['SUBGROUPS'] : []), ...(o.segments ? ['SEGMENTS'] : []), ...kvDefines(kvFormat),
        ...(split ? ['SPLIT_K'] : []),
      ],
      // f32 caches: SERIAL reads them as vec4 (bindings 6, 7), the workgroup version as f32 (4, 5); other formats
      // are u32 words at 6, 7 in both.
      buffers: {
        2: o.q, 3: o.out, ...(serial || packed ? { 6: o.kCache, 7: o.vCache } : { 4: o.kCache, 5: o.vCache }), 8: o.segments, 9: split?.part,
      },
      grid: (n, kvLen) => {
        const s = split ? attentionSplits(split, kvLen) : 1;
        return serial ? grid1d(ceilDiv(n * o.nHeads * s, 4)) : [o.nHeads, n, s];
      },
    });
  }

  /** The merge pass of split-K attention: nothing to do (no dispatch) while the keys fit one chunk. */
  attentionMerge(o: { label: string; out: GPUBuffer; nHeads: number; nKvHeads: number; headDim: number; split: AttentionSplit }): Promise<Dispatch> {
    return this.make('attention', {
      label: o.label, params: attentionParams(o), defines: ['MERGE'],
      buffers: { 3: o.out, 9: o.split.part },
      grid: (_n, kvLen) => (attentionSplits(o.split, kvLen) > 1 ? [o.nHeads, 1, 1] : [0, 1, 1]),
    });
  }

  /** New K and V rows ([nTokens, kvDim] f32) into the cache rows at the step's positions, in the cache's format. */
  kvStore(o: { label: string; kNew: GPUBuffer; vNew: GPUBuffer; kCache: GPUBuffer; vCache: GPUBuffer; kvDim: number; format: Exclude<KvFormat, 'f32'> }): Promise<Dispatch> {
    const per = o.format === 'q8_0' ? o.kvDim / 32 : o.kvDim / 2;
    return this.make('kv_store', {
      label: o.label, params: new Uint32Array([o.kvDim, 0, 0, 0]).buffer, defines: kvDefines(o.format),
      buffers: { 2: o.kNew, 3: o.vNew, 4: o.kCache, 5: o.vCache },
      grid: (n) => grid1d(ceilDiv(2 * n * per, 64)),
    });
  }

  /** out = table[ids] row by row, times `scale` (gemma: √dim) (`accumulate`: out += the rows). */
  embedding(o: { label: string; table: GpuWeight; ids: GPUBuffer; out: GPUBuffer; accumulate?: boolean; scale?: number }): Promise<Dispatch> {
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 1)[0] = o.table.cols;
    new Float32Array(params, 4, 1)[0] = o.scale ?? 1;
    return this.make('embedding', {
      label: o.label, defines: [...weightDefines(o.table.format), ...(o.accumulate ? ['ACCUMULATE'] : [])],
      params,
      buffers: { 2: o.ids, 3: o.out, 8: o.table.data, 9: o.table.scales },
      grid: (n) => [n, 1, 1],
    });
  }

  /** LayerNorm with bias of each of the step's rows, in place. */
  layernorm(o: { label: string; x: GPUBuffer; weight: GPUBuffer; bias: GPUBuffer; dim: number; eps: number }): Promise<Dispatch> {
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 1)[0] = o.dim;
    new Float32Array(params, 8, 1)[0] = o.eps;
    return this.make('layernorm', {
      label: o.label, params, constants: { WG: this.tuning.rmsnormWG },
      buffers: { 2: o.x, 4: o.weight, 5: o.bias },
      grid: (n) => grid1d(n),
    });
  }

  /**
   * One vector per packed sequence: mean, first (CLS) or last row of its rows of x. `seqs` = [n, start_0 … start_n]
   * (u32); `maxSeqs()` bounds the grid (the kernel reads the real count from seqs[0]).
   */
  pool(o: { label: string; x: GPUBuffer; out: GPUBuffer; seqs: GPUBuffer; dim: number; mode: 'mean' | 'cls' | 'last'; maxSeqs: () => number }): Promise<Dispatch> {
    return this.make('pool', {
      label: o.label, params: new Uint32Array([o.dim, { mean: 0, cls: 1, last: 2 }[o.mode], 0, 0]).buffer,
      buffers: { 2: o.x, 3: o.out, 4: o.seqs },
      grid: () => grid1d(ceilDiv(o.maxSeqs() * o.dim, 64)),
    });
  }

  /** Argmax of one row of n logits, or with `perToken` of each of the step's rows ([n_tokens, n] → n_tokens ids). */
  argmax(o: { label: string; logits: GPUBuffer; result: GPUBuffer; n: number; perToken?: boolean }): Promise<Dispatch> {
    return this.make('argmax', {
      label: o.label, params: new Uint32Array([o.n, 0, 0, 0]).buffer, constants: { WG: this.tuning.argmaxWG },
      defines: this.tuning.subgroups ? ['SUBGROUPS'] : [],
      buffers: { 2: o.logits, 3: o.result },
      grid: (nTokens) => [o.perToken ? nTokens : 1, 1, 1],
    });
  }
}


export interface AttentionSplit {
  part: GPUBuffer;
  chunk: number;
  maxSplits: number;
}

/** Chunks split-K attention cuts kvLen keys into (attention.wgsl n_splits computes the same). */
export function attentionSplits(s: Pick<AttentionSplit, 'chunk' | 'maxSplits'>, kvLen: number): number {
  return Math.min(s.maxSplits, Math.max(1, Math.ceil(kvLen / s.chunk)));
}

function attentionParams(o: { nHeads: number; nKvHeads: number; headDim: number; window?: number; scale?: number; softcap?: number; split?: AttentionSplit }): ArrayBuffer {
  const params = new ArrayBuffer(32);
  new Uint32Array(params, 0, 4).set([o.nHeads, o.nKvHeads, o.headDim, o.window ?? 0]);
  new Float32Array(params, 16, 2).set([o.scale ?? 1 / Math.sqrt(o.headDim), o.softcap ?? 0]);
  new Uint32Array(params, 24, 2).set([o.split?.chunk ?? 1, o.split?.maxSplits ?? 1]);
  return params;
}
