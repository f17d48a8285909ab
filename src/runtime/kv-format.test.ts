import { describe, expect, test } from 'vitest';
import { kvRowBytes, resolveKvFormat, SMALL_KV_BYTES } from './kv-format.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';

/** The f32 cache of a model: K and V rows for every layer and position. */
const f32Bytes = (layers: number, ctx: number, kvDim: number) => 2 * layers * ctx * kvRowBytes('f32', kvDim);

describe('resolveKvFormat', () => {
  test('default: f16 with shader-f16 once the f32 cache passes SMALL_KV_BYTES, else f32', () => {
    const f16 = { f16: true };
    // stories260K at 512 tokens (5 layers, kvDim 32): 640 KiB, stays f32 (the layer kernel's cache).
    expect(resolveKvFormat(undefined, f16, 32, 8, f32Bytes(5, 512, 32))).toBe('f32');
    // SmolLM2-135M at 2048 tokens (30 layers, kvDim 192): 90 MiB, f16.
    expect(resolveKvFormat(undefined, f16, 192, 64, f32Bytes(30, 2048, 192))).toBe('f16');
    expect(resolveKvFormat(undefined, f16, 192, 64, SMALL_KV_BYTES)).toBe('f32');
    expect(resolveKvFormat(undefined, f16, 192, 64, SMALL_KV_BYTES + 1)).toBe('f16');
    // No shader-f16: f32 whatever the size.
    expect(resolveKvFormat(undefined, { f16: false }, 192, 64, f32Bytes(30, 2048, 192))).toBe('f32');
  });

  test('an asked format is kept, or refused with what to use', () => {
    expect(resolveKvFormat('f16', { f16: false }, 32, 8, 1)).toBe('f16');
    expect(resolveKvFormat('q8_0', { f16: true }, 64, 16, 1)).toBe('q8_0');
    expect(() => resolveKvFormat('q8_0', { f16: true }, 48, 16, 1)).toThrow(UnsupportedModelError);
    expect(() => resolveKvFormat('f16', { f16: true }, 36, 6, 1)).toThrow(/use 'f32'/);
    expect(() => resolveKvFormat('bf16' as never, { f16: true }, 32, 8, 1)).toThrow(InvalidRequestError);
  });
});
