import { expect, test } from 'vitest';
import { batchSink } from './batch-sink.ts';

test('chunks pushed in one synchronous burst are posted as one group, in order; later bursts as their own', async () => {
  const posts: number[][] = [];
  const sink = batchSink<number>((cs) => void posts.push(cs));
  const a = [1, 2, 3].map((c) => sink(c));
  expect(posts).toEqual([]); // nothing is posted inside the burst
  await a[2];
  expect(posts).toEqual([[1, 2, 3]]);
  await Promise.resolve(); // an await between bursts, as between two GPU submissions
  await sink(4);
  expect(posts).toEqual([[1, 2, 3], [4]]);
});

test("a burst's promise settles only when its post has (a worker's message promise)", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const sink = batchSink<string>(() => gate);
  let done = false;
  void sink('x').then(() => (done = true));
  await new Promise((r) => setTimeout(r, 5));
  expect(done).toBe(false);
  release();
  await gate;
  await Promise.resolve();
  expect(done).toBe(true);
});
