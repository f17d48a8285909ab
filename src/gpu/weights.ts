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

function padded(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(pad4(b.byteLength));
  out.set(b);
  return out;
}

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

/** Values in one band of quantize-on-load (1M: 4 MiB as f32): a tensor is read, converted and uploaded a band at a time. */
export const CONVERT_BAND_ELEMS = 1 << 20;

/**
 * Rows per band of a [rows, cols] matrix: about CONVERT_BAND_ELEMS values, and an even number, so that every band
 * but the last starts its split-out scales (2 bytes per block) on a 4-byte boundary, as queue.writeBuffer needs.
 */
export function bandRows(rows: number, cols: number): number {
  const r = Math.max(2, Math.floor(CONVERT_BAND_ELEMS / cols) & ~1);
  return Math.min(rows, r);
}

/** A matrix being filled a band of whole rows at a time (quantize-on-load), bands in any order. */
export interface MatrixSink {
  readonly weight: GpuWeight;
  /** Its bytes in the file format (what the quantized cache stores). */
  readonly byteLength: number;
  write(row0: number, bytes: Uint8Array): void;
}

/** A tensor as it arrives from a model file. */
export interface TensorMeta {
  name: string;
  type: GgmlType;
  shape: number[];
}

export interface RawTensor extends TensorMeta {
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

  /** Quantize-on-load: the format an arriving tensor is converted to (loader/quantize-on-load.ts), if any. */
  quantizeFor?: (t: TensorMeta) => WeightFormatSpec | undefined;

  /** The format `t` is converted to on load, when `quantizeFor` names one its rows are whole blocks of. */
  convertsTo(t: TensorMeta): WeightFormatSpec | undefined {
    const to = this.quantizeFor?.(t);
    const cols = t.shape[t.shape.length - 1];
    return to?.quantize && t.shape.length >= 2 && cols % blockShape(to).elems === 0 ? to : undefined;
  }

  private checkBinding(name: string, bytes: number): void {
    if (bytes > this.maxBinding) {
      throw new ModelTooLargeError(
        `Tensor ${name} needs ${(bytes / 2 ** 20).toFixed(0)} MiB in one GPU buffer but this GPU binds at most ` +
          `${(this.maxBinding / 2 ** 20).toFixed(0)} MiB. Use a more strongly quantized file (Q4_0) or a smaller model.`,
      );
    }
  }

  /**
   * A matrix converted to `to` on load, uploaded a band of rows at a time (queue.writeBuffer), so neither the
   * tensor's float bytes nor its quantized bytes are ever held whole. Bands start on even rows (`bandRows`).
   */
  addConverted(t: TensorMeta, to: WeightFormatSpec): MatrixSink {
    const cols = t.shape[t.shape.length - 1];
    const rows = t.shape.reduce((a, b) => a * b, 1) / cols;
    const { elems, bytes: blockBytes } = blockShape(to);
    const rowBlocks = cols / elems;
    const byteLength = rows * rowBlocks * blockBytes;
    this.checkBinding(t.name, byteLength);
    if (cols % 4 !== 0) throw new UnsupportedModelError(`Tensor ${t.name} has rows of ${cols} values; llmo's kernels need a multiple of 4.`);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const at = to.gpu.splitScaleAt;
    const bodyRow = rowBlocks * (at === undefined ? blockBytes : blockBytes - 2);
    const make = (label: string, size: number) => this.device.createBuffer({ label, size: Math.max(4, pad4(size)), usage });
    const data = make(at === undefined ? t.name : `${t.name}.q`, rows * bodyRow);
    const scales = at === undefined ? undefined : make(`${t.name}.scales`, rows * rowBlocks * 2);
    const queue = this.device.queue;
    const write = (buf: GPUBuffer, offset: number, b: Uint8Array) => {
      // writeBuffer takes whole 4-byte words: only a tensor's last band can end off a word, inside the padded buffer.
      const src = b.byteLength % 4 ? padded(b) : b;
      queue.writeBuffer(buf, offset, src.buffer, src.byteOffset, src.byteLength);
    };
    const weight: GpuWeight = { name: t.name, format: to, rows, cols, data, scales, bytes: data.size + (scales?.size ?? 0) };
    this.matrices.set(t.name, weight);
    this.bytes += weight.bytes;
    return {
      weight,
      byteLength,
      write: (row0, bytes) => {
        const n = bytes.byteLength / (rowBlocks * blockBytes);
        if (at === undefined) return write(data, row0 * bodyRow, bytes);
        const { body, scales: sc } = splitScales(bytes, n * rowBlocks, blockBytes, at);
        write(data, row0 * bodyRow, body);
        write(scales!, row0 * rowBlocks * 2, sc);
      },
    };
  }

  /** Uploads a tensor as it is (a matrix in its format, a vector as f32); returns it. */
  add(t: RawTensor): RawTensor {
    this.checkBinding(t.name, t.bytes.byteLength);
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
