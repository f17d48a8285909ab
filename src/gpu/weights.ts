import { GgmlType } from '../model/types.ts';
import { ggmlTypeName } from '../formats/ggml-types.ts';
import { blockShape, SUPPORTED_TENSOR_TYPES, weightFormat, type WeightFormatSpec } from '../formats/weight-formats.ts';
import { ModelFormatError, ModelTooLargeError, UnsupportedModelError } from '../errors.ts';

/** A weight matrix [rows, cols] resident on the GPU in a kernel-readable layout. */
export interface GpuWeight {
  name: string;
  /** The format table's entry (its `id` selects the kernels' `FMT_*` variant). */
  format: WeightFormatSpec;
  rows: number;
  cols: number;
  /** The tensor's blocks (elements for f32/f16/bf16), less the f16 moved to `scales` where the format splits one. */
  data: GPUBuffer;
  /** One f16 per block, for formats whose layout splits it out (`gpu.splitScaleAt`). */
  scales?: GPUBuffer;
  /** GPU bytes held. */
  bytes: number;
}

/** The kernel define that selects a format's variant. */
export function formatDefine(f: WeightFormatSpec): string {
  return `FMT_${f.id.toUpperCase()}`;
}

/** Block formats: kernels take whole blocks and apply their scales once per block (the BLOCKED variants). */
export function isBlockFormat(f: WeightFormatSpec): boolean {
  return blockShape(f).elems > 1;
}

/**
 * The defines every weight-reading kernel gets for a format (weights.wgsl, shaders/formats/<id>.wgsl). GROUPED:
 * 256-element super-blocks whose scales are read once per super-block (w_scales) and unpacked per 32-element chunk.
 */
export function weightDefines(f: WeightFormatSpec): string[] {
  return [
    formatDefine(f),
    ...(isBlockFormat(f) ? ['BLOCKED'] : []),
    ...(blockShape(f).elems === 256 ? ['GROUPED'] : []),
    ...(f.gpu.splitScaleAt !== undefined ? ['SPLIT_SCALE'] : []),
  ];
}

const pad4 = (n: number) => (n + 3) & ~3;

function createFilled(device: GPUDevice, label: string, src: Uint8Array, usage: number): GPUBuffer {
  const buf = device.createBuffer({ label, size: Math.max(4, pad4(src.byteLength)), usage, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(src);
  buf.unmap();
  return buf;
}

/**
 * Splits each `blockBytes` block at `at` into its 2-byte f16 (to `scales`) and the rest (to `body`), so that blocks
 * of 2 mod 4 bytes (Q8_0: 34, Q4_0: 18) become whole u32 words. Plain byte loops: per-block subarray()+set()
 * allocates millions of views on a 100 MB tensor.
 */
function splitScales(bytes: Uint8Array, nBlocks: number, blockBytes: number, at: number): { body: Uint8Array; scales: Uint8Array } {
  const bodyBytes = blockBytes - 2;
  const body = new Uint8Array(nBlocks * bodyBytes);
  const scales = new Uint8Array(pad4(nBlocks * 2));
  for (let b = 0, o = 0, q = 0; b < nBlocks; b++) {
    for (let i = 0; i < at; i++) body[q++] = bytes[o++];
    scales[2 * b] = bytes[o++];
    scales[2 * b + 1] = bytes[o++];
    for (let i = at + 2; i < blockBytes; i++) body[q++] = bytes[o++];
  }
  return { body, scales };
}

/** Uploads a 2-D weight tensor in its format's GPU layout (weight-formats.ts `gpu`). */
export function uploadWeight(device: GPUDevice, name: string, type: GgmlType, shape: number[], bytes: Uint8Array): GpuWeight {
  const format = weightFormat(type);
  if (!format) {
    throw new UnsupportedModelError(
      `Tensor ${name} is ${ggmlTypeName(type)}; llmo computes with ${SUPPORTED_TENSOR_TYPES.map(ggmlTypeName).join(', ')}. ` +
        'Convert the model to one of those (e.g. llama-quantize model.gguf out.gguf Q4_K_M).',
    );
  }
  const [rows, cols] = shape.length === 1 ? [1, shape[0]] : [shape.slice(0, -1).reduce((a, b) => a * b, 1), shape[shape.length - 1]];
  if (cols % 4 !== 0) {
    throw new UnsupportedModelError(`Tensor ${name} has rows of ${cols} values; llmo's kernels need a multiple of 4.`);
  }
  // COPY_SRC: fused projections (projection.ts) copy rows of several weights into one.
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const at = format.gpu.splitScaleAt;
  if (at !== undefined) {
    const { elems, bytes: blockBytes } = blockShape(format);
    const { body, scales } = splitScales(bytes, (rows * cols) / elems, blockBytes, at);
    const data = createFilled(device, `${name}.q`, body, usage);
    const sc = createFilled(device, `${name}.scales`, scales, usage);
    return { name, format, rows, cols, data, scales: sc, bytes: data.size + sc.size };
  }
  const data = createFilled(device, name, bytes, usage);
  return { name, format, rows, cols, data, bytes: data.size };
}

/** Uploads an f32 vector (norm weights, biases, rope factors): these are tiny, so they are always f32 on the GPU. */
export function uploadF32(device: GPUDevice, name: string, values: Float32Array): GPUBuffer {
  return createFilled(device, name, new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
}

/** f32 values quantize-on-load holds at once (4 MiB): a tensor is converted a band of rows at a time. */
const CONVERT_CHUNK_ELEMS = 1 << 20;

/**
 * Quantize-on-load of one float matrix [rows, cols] whose rows are whole blocks of `to`: encoded with ggml's reference
 * quantizer a band of rows at a time, so only CONVERT_CHUNK_ELEMS f32 values are held, never the whole tensor's.
 */
export function convertForLoad(t: RawTensor, to: WeightFormatSpec, toF32: (t: RawTensor) => Float32Array): RawTensor {
  const cols = t.shape[t.shape.length - 1];
  const rows = t.shape.reduce((a, b) => a * b, 1) / cols;
  if (!to.quantize || cols % blockShape(to).elems !== 0) return t;
  const inRow = t.bytes.byteLength / rows;
  const outRow = (cols / blockShape(to).elems) * blockShape(to).bytes;
  const out = new Uint8Array(rows * outRow);
  const band = Math.max(1, Math.floor(CONVERT_CHUNK_ELEMS / cols));
  for (let r0 = 0; r0 < rows; r0 += band) {
    const r1 = Math.min(rows, r0 + band);
    const f32 = toF32({ ...t, shape: [r1 - r0, cols], bytes: t.bytes.subarray(r0 * inRow, r1 * inRow) });
    out.set(to.quantize(f32), r0 * outRow);
  }
  return { ...t, type: to.type, bytes: out };
}

/** A tensor as it arrives from a model file. */
export interface RawTensor {
  name: string;
  type: GgmlType;
  shape: number[];
  bytes: Uint8Array;
}

/**
 * The model's tensors on the GPU, filled one tensor at a time as bytes arrive (so the file never has to sit whole in
 * memory). Matrices keep their format; vectors (norms, biases, rope factors) become f32.
 */
/** Rows of several tensors concatenated into one weight (gpu/projection.ts makes them): one matvec for q/k/v, gate/up. */
export interface ProjectionPart {
  /** The tensor the rows came from (or a name for a row range of a pre-fused tensor). */
  name: string;
  /** First row in the fused weight, and row count. */
  row0: number;
  rows: number;
}

export interface Projection {
  w: GpuWeight;
  parts: ProjectionPart[];
}

export class WeightStore {
  readonly matrices = new Map<string, GpuWeight>();
  readonly vectors = new Map<string, { buffer: GPUBuffer; values: Float32Array }>();
  /** Fused projections made from this store's matrices, by name list (gpu/projection.ts fuseRows). */
  readonly fused = new Map<string, Projection[]>();
  /** Re-copies of data made from these weights (runtime/layer-kernel.ts), run after the weights change in place (LoRA merge). */
  readonly copies: (() => void)[] = [];
  bytes = 0;

  constructor(
    readonly device: GPUDevice,
    readonly maxBinding: number,
    private readonly toF32: (t: RawTensor) => Float32Array,
  ) {}

  /** Quantize-on-load: the format each arriving tensor is converted to (loader/quantize-on-load.ts), if any. */
  quantizeFor?: (t: RawTensor) => WeightFormatSpec | undefined;

  /** Uploads a tensor (converted first when `quantizeFor` says so); returns it as uploaded. */
  add(raw: RawTensor): RawTensor {
    const to = this.quantizeFor?.(raw);
    const t = to ? convertForLoad(raw, to, this.toF32) : raw;
    if (t.bytes.byteLength > this.maxBinding) {
      throw new ModelTooLargeError(
        `Tensor ${t.name} needs ${(t.bytes.byteLength / 2 ** 20).toFixed(0)} MiB in one GPU buffer but this GPU binds at most ` +
          `${(this.maxBinding / 2 ** 20).toFixed(0)} MiB. Use a more strongly quantized file (Q4_0) or a smaller model.`,
      );
    }
    if (t.shape.length === 1) {
      this.addVector(t.name, this.toF32(t));
    } else {
      const w = uploadWeight(this.device, t.name, t.type, t.shape, t.bytes);
      this.matrices.set(t.name, w);
      this.bytes += w.bytes;
    }
    return t;
  }

  /** An f32 vector under `name` (a tensor's, or one made from tensors such as a fused bias). */
  addVector(name: string, values: Float32Array): GPUBuffer {
    const buffer = uploadF32(this.device, name, values);
    this.vectors.set(name, { buffer, values });
    this.bytes += buffer.size;
    return buffer;
  }

  matrix(name: string): GpuWeight {
    const w = this.matrices.get(name);
    if (!w) throw new ModelFormatError(`The model file has no tensor ${name}; it is incomplete or not a supported layout.`);
    return w;
  }

  vector(name: string): GPUBuffer {
    const v = this.vectors.get(name);
    if (!v) throw new ModelFormatError(`The model file has no tensor ${name}; it is incomplete or not a supported layout.`);
    return v.buffer;
  }

  optionalVector(name: string): GPUBuffer | undefined {
    return this.vectors.get(name)?.buffer;
  }

  destroy(): void {
    for (const w of this.matrices.values()) {
      w.data.destroy();
      w.scales?.destroy();
    }
    for (const v of this.vectors.values()) v.buffer.destroy();
    this.matrices.clear();
    this.vectors.clear();
    this.fused.clear();
  }
}
