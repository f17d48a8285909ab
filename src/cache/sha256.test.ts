import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { Sha256, sha256Hex } from './sha256.ts';
import { mulberry32 } from '../util/random.ts';

const ref = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function randomBytes(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

describe('incremental SHA-256', () => {
  test('known vectors (FIPS 180-2)', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(new Sha256().update(enc('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(new Sha256().hex()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(new Sha256().update(enc('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).hex())
      .toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  });

  test('matches Node crypto on random inputs split at random points', () => {
    const r = mulberry32(7);
    // Lengths around the 55/56/64-byte padding edges, and larger ones.
    const lengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 4097, 65_536 + 13, 300_001];
    for (const [i, n] of lengths.entries()) {
      const data = randomBytes(n, 100 + i);
      const h = new Sha256();
      let off = 0;
      while (off < n) {
        const step = Math.min(n - off, 1 + Math.floor(r() * (r() < 0.5 ? 70 : 20_000)));
        h.update(data.subarray(off, off + step));
        off += step;
      }
      expect(h.hex(), `length ${n}`).toBe(ref(data));
    }
  });

  test('sha256Hex (WebCrypto) agrees with the incremental hash', async () => {
    const data = randomBytes(12_345, 3);
    expect(await sha256Hex(data)).toBe(new Sha256().update(data).hex());
    expect(await sha256Hex(data)).toBe(ref(data));
  });
});
