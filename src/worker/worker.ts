/**
 * The Web Worker that owns the GPU device, the model, the KV cache and the generation loop. The page reaches it
 * through comlink (src/engine.ts); callbacks (progress, chunks) come back as comlink proxies.
 */
import * as Comlink from 'comlink';
import { createEngineApi } from './api.ts';
import { installErrorTransfer } from './error-transfer.ts';

installErrorTransfer();
const api = createEngineApi();
Comlink.expose({
  ...api,
  // Hand the logits' buffer over instead of copying it.
  logits: async (ids: number[]) => {
    const l = await api.logits(ids);
    return Comlink.transfer(l, [l.buffer]);
  },
});
