/**
 * Quantize-on-load's pool and in-order pipeline, with stand-in workers (in-process, replies delayed at random so they
 * come back out of order): the bands of a matrix, converted on the pool and put back in order, are byte for byte the
 * whole matrix quantized at once on one thread (the reference: formats/quant.ts `quantize`); and a worker that fails
 * (never starts, dies, or reports an error) leaves its bands to the loading thread with the same bytes. The real
 * workers run in the browser tests (test/models/quantize-on-load.gpu.test.ts: the pool's q4_k_m of sotu-5m equals
 * ggml's file).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GgmlType } from '../model/types.ts';
import { dequantize, f32ArrayToF16, quantize } from '../formats/quant.ts';
import { weightFormatById } from '../formats/weight-formats.ts';
import { mulberry32 } from '../util/random.ts';
import { quantizeBand } from './quantize-band.ts';
import { provideQuantizeWorkers, QuantizePool, type QuantizeReply, type QuantizeRequest, type QuantizeWorker } from './quantize-pool.ts';
import { InOrder } from './in-order.ts';

type Behaviour = 'ok' | 'never-starts' | 'dies' | 'errors';

/** A stand-in worker: converts on a timer (random delay), with a copy of the job as postMessage would give it. */
function fakeWorker(rng: () => number, behaviour: Behaviour, log: { posted: number }): QuantizeWorker {
  let dead = false;
  const w: QuantizeWorker = {
    post(req: QuantizeRequest) {
      if (dead) throw new Error('posted to a terminated worker');
      log.posted++;
      const job = structuredClone(req.job);
      setTimeout(() => {
        if (dead) return;
        if (behaviour === 'never-starts' || (behaviour === 'dies' && log.posted > 2)) return w.onFail?.(new Error('gone'));
        const reply: QuantizeReply = behaviour === 'errors' ? { id: req.id, error: 'boom' } : { id: req.id, bytes: quantizeBand(job) };
        w.onReply?.(reply);
      }, rng() * 8);
    },
    terminate() {
      dead = true;
    },
  };
  return w;
}

/** An F16 matrix [rows, cols] of random values (and its f32 values, as the loader's dequantize gives them). */
function f16Matrix(rows: number, cols: number, seed: number) {
  const r = mulberry32(seed);
  const values = Float32Array.from({ length: rows * cols }, () => (r() - 0.5) * 4 * (r() < 0.02 ? 10 : 1));
  const bytes = new Uint8Array(f32ArrayToF16(values).buffer);
  return { bytes, f32: dequantize(GgmlType.F16, bytes, rows * cols) };
}

/** Converts the matrix the way load-model.ts does: bands read in order, run on the pool, applied in order. */
async function convertInBands(pool: QuantizePool, format: string, bytes: Uint8Array, rows: number, cols: number, band: number) {
  const parts: Uint8Array[] = [];
  const steps = new InOrder(2 * pool.threads + 2);
  for (let r0 = 0; r0 < rows; r0 += band) {
    const n = Math.min(band, rows - r0);
    const b = bytes.slice(r0 * cols * 2, (r0 + n) * cols * 2);
    await steps.push(pool.run({ format, type: GgmlType.F16, count: n * cols, bytes: b }), (out) => parts.push(out));
  }
  await steps.drain();
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.byteLength), 0);
  return out;
}

afterEach(() => provideQuantizeWorkers(undefined));

describe('quantize pool', () => {
  const rows = 14;
  const cols = 512;
  const { bytes, f32 } = f16Matrix(rows, cols, 7);

  for (const format of ['q4_k', 'q6_k', 'q8_0', 'iq4_xs']) {
    it(`${format}: bands on 3 workers, out of order, = the whole matrix on one thread`, async () => {
      const log = { posted: 0 };
      const rng = mulberry32(11);
      provideQuantizeWorkers(() => fakeWorker(rng, 'ok', log), 3);
      const pool = new QuantizePool();
      const want = quantize(weightFormatById(format)!.type, f32);
      const got = await convertInBands(pool, format, bytes, rows, cols, 2);
      expect(pool.workers).toBe(3);
      expect(log.posted).toBe(rows / 2);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      pool.close();
    });
  }

  for (const behaviour of ['never-starts', 'dies', 'errors'] as const) {
    it(`a worker that ${behaviour.replace('-', ' ')}: its bands are converted in-thread, same bytes`, async () => {
      const log = { posted: 0 };
      const rng = mulberry32(5);
      provideQuantizeWorkers(() => fakeWorker(rng, behaviour, log), 2);
      const pool = new QuantizePool();
      const got = await convertInBands(pool, 'q4_k', bytes, rows, cols, 2);
      expect(Buffer.from(got).equals(Buffer.from(quantize(GgmlType.Q4_K, f32)))).toBe(true);
      expect(pool.workers).toBe(behaviour === 'errors' ? 2 : 0);
      expect(log.posted).toBeGreaterThan(0);
      pool.close();
    });
  }

  it('no provider, or quantizeThreads 0: in-thread, no worker started', async () => {
    const pool = new QuantizePool(4);
    expect(pool.threads).toBe(0);
    const spawned: number[] = [];
    provideQuantizeWorkers(() => (spawned.push(1), fakeWorker(mulberry32(1), 'ok', { posted: 0 })), 4);
    const zero = new QuantizePool(0);
    for (const p of [pool, zero]) {
      const got = await convertInBands(p, 'q8_0', bytes, rows, cols, 4);
      expect(Buffer.from(got).equals(Buffer.from(quantize(GgmlType.Q8_0, f32)))).toBe(true);
    }
    expect(spawned.length).toBe(0);
  });
});

describe('InOrder', () => {
  it('applies results in push order, at most `limit` waiting', async () => {
    const order: number[] = [];
    const steps = new InOrder(2);
    let waiting = 0;
    let most = 0;
    for (let i = 0; i < 8; i++) {
      waiting++;
      most = Math.max(most, waiting);
      const work = new Promise<number>((r) => setTimeout(() => r(i), (7 - i) * 3));
      await steps.push(work, (v) => {
        waiting--;
        order.push(v);
      });
    }
    await steps.drain();
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3); // the third push waits for the first to be applied
  });
});
