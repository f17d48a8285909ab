/**
 * Copies of the KV cache for earlier prompts, kept on the GPU so that a later prompt starting with the same tokens
 * (a long system prompt shared by many conversations, a conversation resumed after another one ran) skips
 * recomputing them. Restoring copies the longest matching prefix back into the live cache (copyBufferToBuffer).
 *
 * The copies live in an arena allocated once, at load, sized from the byte budget: generating never creates a GPU
 * object. Per layer one buffer holds `slots` K rows then `slots` V rows; an entry owns a contiguous run of slots.
 * When no run is free, entries are evicted least-recently-used first until one is.
 */
import type { Transformer } from './transformer.ts';

interface Entry {
  tokens: number[];
  /** What else the KV depends on (the LoRA adapters applied, src/lora/lora-set.ts): entries match only their own. */
  key: string;
  /** First slot of the entry's run in the arena. */
  start: number;
}

/** Prompts shorter than this are cheap to recompute: not worth a copy. */
const MIN_TOKENS = 16;
/** More slots than a few contexts' worth would only hold prompts nobody can reuse at once. */
const MAX_CONTEXTS = 4;

export class PrefixCache {
  /** Most recently used last. */
  private entries: Entry[] = [];
  private readonly arena: GPUBuffer[] = [];
  /** Token rows the arena holds per layer (for K, and as many for V). */
  readonly slots: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly transformer: Transformer,
    budgetBytes: number,
    contextLength: number,
  ) {
    const { kvRowBytes: row, kvBuffers } = transformer;
    const perSlot = 2 * row * kvBuffers.length;
    this.slots = perSlot > 0 && budgetBytes > 0 ? Math.min(Math.floor(budgetBytes / perSlot), MAX_CONTEXTS * contextLength) : 0;
    if (this.slots < MIN_TOKENS) this.slots = 0;
    for (let l = 0; this.slots && l < kvBuffers.length; l++) {
      this.arena.push(device.createBuffer({ label: `prefix-cache.${l}`, size: 2 * this.slots * row, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST }));
    }
  }

  get enabled(): boolean {
    return this.slots > 0;
  }

  /** GPU bytes of the arena (allocated at load). */
  get allocatedBytes(): number {
    return this.arena.reduce((a, b) => a + b.size, 0);
  }

  /** Bytes of KV held now, and the number of entries (for tests and memory reports). */
  get usage(): { bytes: number; entries: number } {
    const tokens = this.entries.reduce((a, e) => a + e.tokens.length, 0);
    return { bytes: 2 * tokens * this.transformer.kvRowBytes * this.arena.length, entries: this.entries.length };
  }

  /**
   * Copies the KV of the longest stored prefix of `ids` (leaving at least the last token to run) into the live
   * cache when it is longer than `have` tokens already in place. Returns the number of positions now valid from
   * the cache, or 0 when nothing better was found.
   */
  restore(ids: readonly number[], have: number, key = ''): number {
    if (!this.enabled) return 0;
    let best: Entry | undefined;
    let bestN = have;
    for (const e of this.entries) {
      if (e.key !== key) continue;
      const limit = Math.min(e.tokens.length, ids.length - 1);
      let n = 0;
      while (n < limit && e.tokens[n] === ids[n]) n++;
      if (n > bestN) {
        best = e;
        bestN = n;
      }
    }
    if (!best) return 0;
    // Positions before `have` are already right in the live cache; copy the rest of the match.
    this.copy('restore', best.start, have, bestN - have, false);
    this.touch(best);
    return bestN;
  }

  /** Stores the KV of `ids` (all of its positions must be in the live cache). */
  save(ids: readonly number[], key = ''): void {
    const n = ids.length;
    if (!this.enabled || n < MIN_TOKENS || n > this.slots) return;
    // Already covered by a stored prompt that starts with these tokens: just mark it used.
    const covering = this.entries.find((e) => e.key === key && e.tokens.length >= n && ids.every((t, i) => e.tokens[i] === t));
    if (covering) {
      this.touch(covering);
      return;
    }
    // Stored prompts that this one extends are superseded by it.
    this.entries = this.entries.filter((e) => !(e.key === key && e.tokens.length < n && e.tokens.every((t, i) => ids[i] === t)));
    let start = this.freeRun(n);
    while (start < 0) {
      this.entries.shift();
      start = this.freeRun(n);
    }
    this.copy('save', start, 0, n, true);
    this.entries.push({ tokens: ids.slice(), key, start });
  }

  clear(): void {
    this.entries = [];
  }

  destroy(): void {
    this.entries = [];
    for (const b of this.arena) b.destroy();
    this.arena.length = 0;
  }

  /** First slot of a free run of `n` slots (first fit), or -1. */
  private freeRun(n: number): number {
    const taken = this.entries.map((e) => [e.start, e.start + e.tokens.length]).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [s, e] of taken) {
      if (s - at >= n) return at;
      at = Math.max(at, e);
    }
    return this.slots - at >= n ? at : -1;
  }

  /** Copies positions pos..pos+n-1 between the live cache and slots start+pos… of the arena, every layer, K and V. */
  private copy(what: string, start: number, pos: number, n: number, toArena: boolean): void {
    if (n <= 0) return;
    const row = this.transformer.kvRowBytes;
    const live = pos * row;
    const kAt = (start + pos) * row;
    const vAt = (this.slots + start + pos) * row;
    const enc = this.device.createCommandEncoder({ label: `prefix-cache.${what}` });
    this.transformer.kvBuffers.forEach(({ k, v }, l) => {
      const a = this.arena[l];
      if (toArena) {
        enc.copyBufferToBuffer(k, live, a, kAt, n * row);
        enc.copyBufferToBuffer(v, live, a, vAt, n * row);
      } else {
        enc.copyBufferToBuffer(a, kAt, k, live, n * row);
        enc.copyBufferToBuffer(a, vAt, v, live, n * row);
      }
    });
    this.device.queue.submit([enc.finish()]);
  }

  private touch(e: Entry): void {
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.push(e);
  }
}
