/** Helpers for kernel tests in the browser: one shared device, buffers from typed arrays, readback, step runs. */
import { openGpu, type Gpu } from '../src/gpu/device.ts';
import { mulberry32 } from '../src/util/random.ts';
import { Kernels, encodeDispatch, type Dispatch, type Tuning } from '../src/gpu/kernels.ts';

let gpuPromise: Promise<Gpu> | undefined;
export function testGpu(): Promise<Gpu> {
  gpuPromise ??= openGpu();
  return gpuPromise;
}

/** Kernels on the shared test device; `tuning` overrides the adapter's launch shapes (to test every layout). */
export async function testKernels(tuning?: Tuning): Promise<Kernels> {
  const gpu = await testGpu();
  const step = gpu.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  return new Kernels(gpu, step, tuning);
}

export function gpuBuffer(device: GPUDevice, data: ArrayBufferView | number): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buf = device.createBuffer({
    size: Math.max(16, (size + 3) & ~3),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: typeof data !== 'number',
  });
  if (typeof data !== 'number') {
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
  }
  return buf;
}

export async function readF32(device: GPUDevice, buf: GPUBuffer, count: number, offsetElems = 0): Promise<Float32Array> {
  const bytes = await readBytes(device, buf, count * 4, offsetElems * 4);
  return new Float32Array(bytes.buffer);
}

export async function readU32(device: GPUDevice, buf: GPUBuffer, count: number): Promise<Uint32Array> {
  return new Uint32Array((await readBytes(device, buf, count * 4, 0)).buffer);
}

async function readBytes(device: GPUDevice, buf: GPUBuffer, size: number, offset: number): Promise<Uint8Array> {
  const staging = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buf, offset, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Uint8Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/** Runs dispatches in one pass with the step uniform set to (nTokens, pos0). */
export async function runStep(k: Kernels, dispatches: Dispatch[], nTokens: number, pos0 = 0): Promise<void> {
  const device = k.device;
  device.queue.writeBuffer(k.stepBuffer, 0, new Uint32Array([nTokens, pos0, pos0 + nTokens, 0]));
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const d of dispatches) encodeDispatch(pass, d, nTokens, pos0 + nTokens);
  pass.end();
  device.pushErrorScope('validation');
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`GPU validation error: ${err.message}`);
  await device.queue.onSubmittedWorkDone();
}

/** Deterministic PRNG so failures reproduce. */
export const rng = mulberry32;

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** Largest |a - b| divided by max(1, max |b|): the error measure every kernel tolerance below refers to. */
export function relErr(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let maxErr = 0;
  let maxRef = 1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= maxErr)) maxErr = Number.isNaN(d) ? Infinity : Math.max(maxErr, d);
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxErr / maxRef;
}
