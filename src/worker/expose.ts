/**
 * What a worker exposes to the page over comlink: the engine API with each call's callback port closed once the call
 * settles, and the logits handed over instead of copied. Shared by the dedicated worker (worker.ts) and the
 * SharedWorker (shared-worker.ts, one endpoint per tab).
 */
import * as Comlink from 'comlink';
import type { createEngineApi } from './api.ts';
import { closeCallback } from './callback-ports.ts';

/** `f` with its callback argument (at `at`) closed once the call settles: nothing calls it after that. */
function closing<A extends unknown[], R>(f: (...a: A) => Promise<R>, at: number): (...a: A) => Promise<R> {
  return async (...a: A) => {
    try {
      return await f(...a);
    } finally {
      closeCallback(a[at]);
    }
  };
}

export function exposeApi(api: ReturnType<typeof createEngineApi>, endpoint?: Comlink.Endpoint, extra: object = {}): void {
  Comlink.expose({
    ...api,
    load: closing(api.load, 2),
    generate: closing(api.generate, 3),
    chatCompletion: closing(api.chatCompletion, 2),
    completion: closing(api.completion, 2),
    logits: async (...a: Parameters<typeof api.logits>) => {
      const l = await api.logits(...a);
      return Comlink.transfer(l, [l.buffer]);
    },
    ...extra,
  }, endpoint);
}
