/**
 * The one engine behind every Prompt API session of the page: loaded on the first `create()` (or given loaded), its
 * progress fanned out to each waiting create's monitor, and what `availability()` reports about it.
 */
import { load, cache, type LoadModelOptions } from '../../index.ts';
import type { Engine } from '../../engine.ts';
import type { LoadProgress } from '../../loader/load-model.ts';
import { resolveSource, type ModelSource } from '../../loader/source.ts';

export type Availability = 'unavailable' | 'downloadable' | 'downloading' | 'available';

export class Backend {
  private engine?: Engine;
  private loading?: Promise<Engine>;
  private readonly watchers = new Set<(p: LoadProgress) => void>();

  constructor(private readonly model: Engine | ModelSource, private readonly options: LoadModelOptions = {}) {
    if (isEngine(model)) this.engine = model;
  }

  /** The engine, loading it once; `onProgress` sees this load's events (none when it was loaded already). */
  get(onProgress?: (p: LoadProgress) => void): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (onProgress) this.watchers.add(onProgress);
    if (!this.loading) {
      const user = this.options.onProgress;
      this.loading = load(this.model as ModelSource, {
        ...this.options,
        onProgress: (p) => {
          user?.(p);
          for (const w of this.watchers) w(p);
        },
      }).then(
        (e) => {
          this.engine = e;
          return e;
        },
        (e) => {
          // A failed load is tried again by the next create().
          this.loading = undefined;
          throw e;
        },
      );
    }
    return this.loading.finally(() => onProgress && this.watchers.delete(onProgress));
  }

  async availability(): Promise<Availability> {
    if (this.engine) return 'available';
    if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) return 'unavailable';
    if (this.loading) return 'downloading';
    return (await this.cached()) ? 'available' : 'downloadable';
  }

  /** The model's main file is complete in llmo's cache: create() reads it without a download. */
  private async cached(): Promise<boolean> {
    const m = this.model;
    if (typeof m !== 'string' && !(m instanceof URL)) return m instanceof Blob || Array.isArray(m);
    const s = String(m);
    const key = s.startsWith('hf:') ? String(resolveSource(s, this.options.hfBaseUrl)) : new URL(s, location.href).href;
    try {
      return (await cache.list()).some((c) => c.key === key || c.url === key);
    } catch {
      return false;
    }
  }

  dispose(): Promise<void> | undefined {
    return this.engine?.dispose();
  }
}

function isEngine(m: unknown): m is Engine {
  return typeof m === 'object' && m !== null && 'chat' in m && 'tokenizeChat' in m;
}
