import { describe, expect, test } from 'vitest';
import { ProgressTracker, STREAM_FRACTION } from './progress.ts';
import type { LoadProgress } from './load-model.ts';

describe('ProgressTracker', () => {
  test('sums files, reports per-file bytes, speed over time, ETA, and the phase by where bytes came from', () => {
    let t = 0;
    const events: LoadProgress[] = [];
    const p = new ProgressTracker((e) => events.push(e), () => t);
    const a = p.addFile('a', 1000);
    const b = p.addFile('b');
    expect(p.total()).toBeUndefined();
    p.setTotal(b, 3000);
    expect(p.total()).toBe(4000);
    p.add(a, 1000, 'cache'); // t=0: a complete → emitted although no time passed
    expect(events.at(-1)!.phase).toBe('cache');
    t = 1000;
    p.add(b, 1000, 'network');
    const e = events.at(-1)!;
    expect(e.phase).toBe('download');
    expect(e.loaded).toBe(2000);
    expect(e.total).toBe(4000);
    expect(e.fraction).toBeCloseTo(STREAM_FRACTION * 0.5);
    expect(e.files).toEqual([{ file: 'a', loaded: 1000, total: 1000 }, { file: 'b', loaded: 1000, total: 3000 }]);
    expect(e.bytesPerSec).toBeCloseTo(1000); // 1000 bytes in the 1 s since the first sample
    expect(e.etaSec).toBeCloseTo(2); // 2000 bytes left at 1000 B/s
  });

  test('events are throttled to one per 50 ms, except when a file completes', () => {
    let t = 0;
    const events: LoadProgress[] = [];
    const p = new ProgressTracker((e) => events.push(e), () => t);
    const a = p.addFile('a', 100);
    for (let i = 0; i < 10; i++) {
      t += 10;
      p.add(a, 10, 'network');
    }
    // t = 10 (first), 60, 100 (complete)
    expect(events.map((e) => e.loaded)).toEqual([10, 60, 100]);
  });
});
