/**
 * One request at a time on an engine (it owns one KV cache and one set of scratch buffers): later requests wait,
 * first come first served, and an aborted signal takes a waiting request out of the line.
 */
import { AbortError } from '../errors.ts';

export class RequestQueue {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  /**
   * Runs `f` once the requests before it are done. `ready` throws when the engine can no longer run anything
   * (disposed, device lost); it is checked before queueing and again after waiting.
   */
  async run<T>(f: () => Promise<T>, ready: () => void, signal?: AbortSignal): Promise<T> {
    ready();
    if (signal?.aborted) throw new AbortError('The request was aborted before it started.');
    if (this.busy) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = this.waiting.indexOf(go);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(new AbortError('The request was aborted while it waited for earlier requests.'));
        };
        const go = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        this.waiting.push(go);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        ready();
      } catch (e) {
        this.release();
        throw e;
      }
    } else {
      this.busy = true;
    }
    try {
      return await f();
    } finally {
      this.release();
    }
  }

  /** Hands the engine to the next waiting request, if any. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}
