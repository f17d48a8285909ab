/**
 * What happens to a pooled vector before it is returned: Matryoshka truncation to `dimensions`, then L2
 * normalisation (after the cut, so a shortened vector has unit length again); and OpenAI's `base64` encoding (the
 * little-endian float32 bytes, as the OpenAI API and its client libraries decode them).
 */
import { InvalidRequestError } from '../errors.ts';

export interface VectorOptions {
  /** L2-normalise (default true). */
  normalize?: boolean;
  /** Keep the first `dimensions` values (Matryoshka models). */
  dimensions?: number;
}

export function checkDimensions(dimensions: number | undefined, dim: number): void {
  if (dimensions === undefined) return;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > dim) {
    throw new InvalidRequestError(`dimensions is ${dimensions}; it must be an integer from 1 to the model's ${dim}.`);
  }
}

export function finishVector(v: Float32Array, o: VectorOptions = {}): Float32Array {
  const out = o.dimensions !== undefined && o.dimensions < v.length ? v.slice(0, o.dimensions) : v.slice();
  if (o.normalize ?? true) {
    let ss = 0;
    for (const x of out) ss += x * x;
    if (ss > 0) {
      const inv = 1 / Math.sqrt(ss);
      for (let i = 0; i < out.length; i++) out[i] *= inv;
    }
  }
  return out;
}

export function vectorToBase64(v: Float32Array): string {
  const bytes = new Uint8Array(v.length * 4);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < v.length; i++) dv.setFloat32(i * 4, v[i], true);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function base64ToVector(b64: string): Float32Array {
  const s = atob(b64);
  const dv = new DataView(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) dv.setUint8(i, s.charCodeAt(i));
  return Float32Array.from({ length: s.length / 4 }, (_, i) => dv.getFloat32(i * 4, true));
}
