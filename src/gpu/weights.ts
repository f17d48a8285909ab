import { GgmlType } from '../model/types.ts';
import { ggmlTypeName } from '../formats/ggml-types.ts';
import { ModelFormatError, ModelTooLargeError, UnsupportedModelError } from '../errors.ts';

/** Storage formats the kernels read (each is a `FMT_*` variant of shaders/weights.wgsl). */
export type WeightFormat = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';

/** A weight matrix [rows, cols] resident on the GPU in a kernel-readable layout. */
export interface GpuWeight {
  name: string;
  format: WeightFormat;
  rows: number;
  cols: number;
  /** Elements (f32/f16/bf16) or block quants (q8_0: 32 int8 per block; q4_0: 16 bytes of nibbles per block). */
  data: GPUBuffer;
  /** One f16 scale per 32-element block, for quantized formats. */
  scales?: GPUBuffer;
  /** GPU bytes held. */
  bytes: number;
}

const FORMAT_OF: Partial<Record<GgmlType, WeightFormat>> = {
  [GgmlType.F32]: 'f32',
  [GgmlType.F16]: 'f16',
  [GgmlType.BF16]: 'bf16',
  [GgmlType.Q8_0]: 'q8_0',
  [GgmlType.Q4_0]: 'q4_0',
};

/** The kernel define that selects a format's variant. */
export function formatDefine(f: WeightFormat): string {
  return `FMT_${f.toUpperCase()}`;
}

const pad4 = (n: number) => (n + 3) & ~3;

function createFilled(device: GPUDevice, label: string, src: Uint8Array, usage: number): GPUBuffer {
  const buf = device.createBuffer({ label, size: Math.max(4, pad4(src.byteLength)), usage, mappedAtCreation: true });
  new Uint8Array(buf.getMappedRange()).set(src);
  buf.unmap();
  return buf;
}

/**
 * Uploads a 2-D weight tensor. Quantized blocks (2-byte scale + quants, so 34 or 18 bytes: not word-aligned) are
 * split into a quants buffer and a scales buffer, which lets every kernel load whole u32 words.
 */
export function uploadWeight(device: GPUDevice, name: string, type: GgmlType, shape: number[], bytes: Uint8Array): GpuWeight {
  const format = FORMAT_OF[type];
  if (!format) {
    throw new UnsupportedModelError(
      `Tensor ${name} is ${ggmlTypeName(type)}; llmo computes with F32, F16, BF16, Q8_0 and Q4_0. ` +
        'Convert the model to one of those (e.g. llama-quantize model.gguf out.gguf Q4_0).',
    );
  }
  const [rows, cols] = shape.length === 1 ? [1, shape[0]] : [shape.slice(0, -1).reduce((a, b) => a * b, 1), shape[shape.length - 1]];
  if (cols % 4 !== 0) {
    throw new UnsupportedModelError(`Tensor ${name} has rows of ${cols} values; llmo's kernels need a multiple of 4.`);
  }
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  if (format === 'q8_0' || format === 'q4_0') {
    const blockBytes = format === 'q8_0' ? 34 : 18;
    const qBytes = blockBytes - 2;
    const nBlocks = (rows * cols) / 32;
    const quants = new Uint8Array(nBlocks * qBytes);
    const scales = new Uint8Array(pad4(nBlocks * 2));
    // Plain byte loops: per-block subarray()+set() allocates millions of views on a 100 MB tensor.
    for (let b = 0, o = 0, q = 0; b < nBlocks; b++) {
      scales[2 * b] = bytes[o++];
      scales[2 * b + 1] = bytes[o++];
      for (let i = 0; i < qBytes; i++) quants[q++] = bytes[o++];
    }
    const data = createFilled(device, `${name}.q`, quants, usage);
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
export class WeightStore {
  readonly matrices = new Map<string, GpuWeight>();
  readonly vectors = new Map<string, { buffer: GPUBuffer; values: Float32Array }>();
  bytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBinding: number,
    private readonly toF32: (t: RawTensor) => Float32Array,
  ) {}

  add(t: RawTensor): void {
    if (t.bytes.byteLength > this.maxBinding) {
      throw new ModelTooLargeError(
        `Tensor ${t.name} needs ${(t.bytes.byteLength / 2 ** 20).toFixed(0)} MiB in one GPU buffer but this GPU binds at most ` +
          `${(this.maxBinding / 2 ** 20).toFixed(0)} MiB. Use a more strongly quantized file (Q4_0) or a smaller model.`,
      );
    }
    if (t.shape.length === 1) {
      const values = this.toF32(t);
      const buffer = uploadF32(this.device, t.name, values);
      this.vectors.set(t.name, { buffer, values });
      this.bytes += buffer.size;
    } else {
      const w = uploadWeight(this.device, t.name, t.type, t.shape, t.bytes);
      this.matrices.set(t.name, w);
      this.bytes += w.bytes;
    }
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
  }
}
