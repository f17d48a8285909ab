import { expect, test } from 'vitest';
import { loadTuning } from './tuning.ts';

test('LoadOptions.f16Compute: the F16 matmul where the GPU has shader-f16 unless false; never on CPU adapters or without shader-f16', () => {
  const gpu = { cpu: false, f16: true, subgroups: true, subgroupSize: 32 };
  expect(loadTuning(gpu, {}).matmulF16).toBe(true);
  expect(loadTuning(gpu, { f16Compute: true }).matmulF16).toBe(true);
  expect(loadTuning(gpu, { f16Compute: false }).matmulF16).toBe(false);
  // Only the f16 arithmetic changes: the launch layouts stay the adapter's.
  expect({ ...loadTuning(gpu, { f16Compute: false }), matmulF16: true }).toEqual(loadTuning(gpu, {}));
  expect(loadTuning({ ...gpu, f16: false }, { f16Compute: true }).matmulF16).toBe(false);
  expect(loadTuning({ ...gpu, cpu: true }, {}).matmulF16).toBe(false);
});
