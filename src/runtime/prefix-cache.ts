/**
 * Copies of the KV cache for earlier prompts, kept on the GPU so that a later prompt starting with the same tokens
 * (a long system prompt shared by many conversations, a conversation resumed after another one ran) skips
 * recomputing them. Each entry holds the K/V rows of positions 0..n-1 of every layer (one buffer per layer, K then V),
 * copied with copyBufferToBuffer; restoring copies the longest matching prefix back into the live cache.
 * Entries are evicted least-recently-used first to stay under the byte budget.
 */
import type { Transformer } from './transformer.ts';

interface Entry {
  tokens: number[];
  /** Per layer: K rows then V rows, `tokens.length × rowBytes` each. */
  buffers: GPUBuffer[];
  bytes: number;
}

/** Prompts shorter than this are cheap to recompute: not worth a copy. */
const MIN_TOKENS = 16;

export class PrefixCache {
  /** Most recently used last. */
  private entries: Entry[] = [];
  private used = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly transformer: Transformer,
    private readonly budgetBytes: number,
  ) {}

  get enabled(): boolean {
    return this.budgetBytes > 0 && this.transformer.kvBuffers.length > 0;
  }

  /** Bytes held now, and the number of entries (for tests and memory reports). */
  get usage(): { bytes: number; entries: number } {
    return { bytes: this.used, entries: this.entries.length };
  }

  private entryBytes(n: number): number {
    return 2 * n * this.transformer.kvRowBytes * this.transformer.kvBuffers.length;
  }

  /**
   * Copies the KV of the longest stored prefix of `ids` (leaving at least the last token to run) into the live
   * cache when it is longer than `have` tokens already in place. Returns the number of positions now valid from
   * the cache, or 0 when nothing better was found.
   */
  restore(ids: readonly number[], have: number): number {
    if (!this.enabled) return 0;
    let best: Entry | undefined;
    let bestN = have;
    for (const e of this.entries) {
      const limit = Math.min(e.tokens.length, ids.length - 1);
      let n = 0;
      while (n < limit && e.tokens[n] === ids[n]) n++;
      if (n > bestN) {
        best = e;
        bestN = n;
      }
    }
    if (!best) return 0;
    const row = this.transformer.kvRowBytes;
    const stride = best.tokens.length * row;
    const enc = this.device.createCommandEncoder({ label: 'prefix-cache.restore' });
    // Positions before `have` are already right in the live cache; copy the rest of the match.
    const off = have * row;
    const size = (bestN - have) * row;
    this.transformer.kvBuffers.forEach(({ k, v }, l) => {
      enc.copyBufferToBuffer(best.buffers[l], off, k, off, size);
      enc.copyBufferToBuffer(best.buffers[l], stride + off, v, off, size);
    });
    this.device.queue.submit([enc.finish()]);
    this.touch(best);
    return bestN;
  }

  /** Stores the KV of `ids` (all of its positions must be in the live cache). */
  save(ids: readonly number[]): void {
    if (!this.enabled || ids.length < MIN_TOKENS) return;
    const bytes = this.entryBytes(ids.length);
    if (bytes > this.budgetBytes) return;
    // Already covered by a stored prompt that starts with these tokens: just mark it used.
    const covering = this.entries.find((e) => e.tokens.length >= ids.length && ids.every((t, i) => e.tokens[i] === t));
    if (covering) {
      this.touch(covering);
      return;
    }
    // Stored prompts that this one extends are superseded by it.
    for (const e of this.entries.filter((e) => e.tokens.length < ids.length && e.tokens.every((t, i) => ids[i] === t))) this.drop(e);
    while (this.used + bytes > this.budgetBytes && this.entries.length) this.drop(this.entries[0]);
    const row = this.transformer.kvRowBytes;
    const n = ids.length;
    const enc = this.device.createCommandEncoder({ label: 'prefix-cache.save' });
    const buffers = this.transformer.kvBuffers.map(({ k, v }, l) => {
      const b = this.device.createBuffer({ label: `prefix-cache.${l}`, size: 2 * n * row, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
      enc.copyBufferToBuffer(k, 0, b, 0, n * row);
      enc.copyBufferToBuffer(v, 0, b, n * row, n * row);
      return b;
    });
    this.device.queue.submit([enc.finish()]);
    this.entries.push({ tokens: ids.slice(), buffers, bytes });
    this.used += bytes;
  }

  clear(): void {
    for (const e of [...this.entries]) this.drop(e);
  }

  private touch(e: Entry): void {
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.push(e);
  }

  private drop(e: Entry): void {
    const i = this.entries.indexOf(e);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.used -= e.bytes;
    for (const b of e.buffers) b.destroy();
  }
}
