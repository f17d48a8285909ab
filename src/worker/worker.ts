/**
 * The Web Worker that owns the GPU device, the model, the KV cache and the generation loop. The page reaches it
 * through comlink (src/engine.ts); callbacks (progress, chunks) come back as comlink proxies.
 */
import * as Comlink from 'comlink';
import { createEngineApi } from './api.ts';
import { installErrorTransfer } from './error-transfer.ts';
import { installCallbackTransfer, closeCallback } from './callback-ports.ts';

installErrorTransfer();
installCallbackTransfer();
const api = createEngineApi();

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

Comlink.expose({
  ...api,
  load: closing(api.load, 2),
  generate: closing(api.generate, 3),
  chatCompletion: closing(api.chatCompletion, 2),
  completion: closing(api.completion, 2),
  // Hand the logits' buffer over instead of copying it.
  logits: async (ids: number[]) => {
    const l = await api.logits(ids);
    return Comlink.transfer(l, [l.buffer]);
  },
});
