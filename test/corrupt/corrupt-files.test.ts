/**
 * The seeded corrupt-file suite, header side: every damaged copy of the shared models goes through the loader's own
 * CPU path (stream reader, GGUF header with the file size, config and tensor checks, tokenizer, tensor bytes in
 * offset order, vectors to f32) and must end in a typed LlmoError or a successful parse, each in well under 5 s.
 * The GPU side (loads in the worker, NaN weights, the engine still right afterwards) is corrupt-files.gpu.test.ts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { LlmoError, UnsupportedModelError } from '../../src/errors.ts';
import { parseGgufHeader, type GgufHeader } from '../../src/formats/gguf.ts';
import { dequantize } from '../../src/formats/quant.ts';
import { describeGguf } from '../../src/loader/gguf-model.ts';
import { StreamReader, readHeader } from '../../src/loader/stream-reader.ts';
import { corruptCases } from './cases.ts';

const MODELS = resolve(import.meta.dirname, '../../../shared/models');
// stories260K (F32) gets every case; sotu-5m (Q4_0, 4096-token vocab, 3x the bytes) every third, for CI time.
const BASES: [file: string, every: number][] = [['stories260K/stories260K.gguf', 1], ['sotu-5m/sotu-5m-q4_0.gguf', 3]];
const SEED = 20261202;
const LIMIT_MS = 5000;

/** What load-model.ts does with a file before the GPU: the same functions, in the same order. */
async function loadOnCpu(bytes: Uint8Array, name: string): Promise<void> {
  const reader = new StreamReader(new Blob([bytes as BlobPart]).stream().getReader(), name);
  await reader.fill(8);
  if (String.fromCharCode(...reader.peek(4)) !== 'GGUF') throw new UnsupportedModelError(`${name} is not a GGUF file`); // as the loader
  const header = await readHeader<GgufHeader>(reader, (b) => parseGgufHeader(b, { fileSize: bytes.length }), name);
  const model = describeGguf([header], name);
  for (const t of [...model.perPart[0]].sort((a, b) => a.offset - b.offset)) {
    await reader.skipTo(t.offset);
    const data = await reader.read(t.byteLength);
    if (t.shape.length === 1) dequantize(t.type, data, t.shape[0]);
  }
  await reader.drain();
}

describe('corrupt GGUF files end in a typed error or a load, fast', () => {
  for (const [file, every] of BASES) {
    test(file, async () => {
      const base = new Uint8Array(readFileSync(resolve(MODELS, file)));
      const cases = corruptCases(base, file.split('/')[1], SEED).filter((_, i) => i % every === 0);
      expect(cases.length).toBeGreaterThan(150);
      const tally = new Map<string, number>();
      const untyped: string[] = [];
      let slowest = { ms: 0, name: '' };
      for (const c of cases) {
        const bytes = c.make();
        const t0 = performance.now();
        let outcome = 'loaded';
        try {
          await loadOnCpu(bytes, c.name);
        } catch (e) {
          outcome = e instanceof LlmoError ? e.name : `UNTYPED ${(e as Error)?.name}`;
          if (!(e instanceof LlmoError)) untyped.push(`${c.name}: ${(e as Error)?.stack ?? e}`);
        }
        const ms = performance.now() - t0;
        if (ms > slowest.ms) slowest = { ms, name: c.name };

        tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
        // Data-only damage keeps a valid header: those must load here (the GPU suite runs them).
        if (c.group === 'data') expect(outcome, c.name).toBe('loaded');
      }
      console.log(`${file}: ${cases.length} corrupt files -> ${JSON.stringify(Object.fromEntries(tally))}; slowest ${slowest.ms.toFixed(0)} ms (${slowest.name})`);
      expect(untyped).toEqual([]);
      expect(slowest.ms, slowest.name).toBeLessThan(LIMIT_MS);
    });
  }
});
