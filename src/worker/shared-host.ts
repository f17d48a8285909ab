/**
 * The cores of a SharedWorker (worker/shared-worker.ts): every tab that loads the same model with the same options
 * gets the same core, loaded once (later tabs wait for the first load and see its progress). A core is disposed a
 * grace period after its last tab released it, so a reload or a quick navigation reuses it.
 */
import type { LoadOptions } from '../runtime/engine-types.ts';
import type { LoadProgress } from '../loader/load-model.ts';
import type { LoadSource } from '../loader/source.ts';
import type { CoreHost } from './api.ts';

type Core = Awaited<ReturnType<CoreHost['open']>>;

interface Entry {
  core: Promise<Core>;
  users: number;
  listeners: Set<(p: LoadProgress) => void>;
  timer?: ReturnType<typeof setTimeout>;
}

export function sharedCoreHost(own: CoreHost, graceMs: number): CoreHost {
  const entries = new Map<string, Entry>();
  const byCore = new Map<Core, string>();
  return {
    open(source: LoadSource, options: LoadOptions): Promise<Core> {
      const { onProgress, ...rest } = options;
      const key = keyOf(source, rest);
      let e = key === undefined ? undefined : entries.get(key);
      if (!e) {
        const listeners = new Set<(p: LoadProgress) => void>();
        const core = own.open(source, { ...rest, onProgress: (p) => listeners.forEach((l) => l(p)) });
        e = { core, users: 0, listeners };
        if (key !== undefined) {
          entries.set(key, e);
          core.then((c) => byCore.set(c, key), () => entries.delete(key));
        }
      }
      clearTimeout(e.timer);
      e.users++;
      const entry = e;
      if (onProgress) entry.listeners.add(onProgress);
      const done = () => onProgress && entry.listeners.delete(onProgress);
      return entry.core.then((c) => (done(), c), (err) => {
        done();
        entry.users--;
        throw err;
      });
    },
    release(core: Core): void {
      const key = byCore.get(core);
      const e = key === undefined ? undefined : entries.get(key);
      if (!e) return own.release(core);
      if (--e.users > 0) return;
      e.timer = setTimeout(() => {
        if (e.users > 0) return;
        entries.delete(key!);
        byCore.delete(core);
        own.release(core);
      }, graceMs);
    },
  };
}

/** Same model, same options → same key; picked Files are never shared (undefined). */
function keyOf(source: LoadSource, options: object): string | undefined {
  const s = source as { llmoSource?: unknown };
  const inner = s && typeof s === 'object' && 'llmoSource' in s ? s.llmoSource : source;
  if (typeof inner !== 'string') return undefined;
  return JSON.stringify([source, options]);
}
