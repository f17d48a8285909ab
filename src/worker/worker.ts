/**
 * The Web Worker that owns the GPU device, the model, the KV cache and the generation loop. The page reaches it
 * through comlink (src/engine.ts); callbacks (progress, chunks) come back over their own ports (callback-ports.ts).
 */
import { createEngineApi } from './api.ts';
import { installErrorTransfer } from './error-transfer.ts';
import { installCallbackTransfer } from './callback-ports.ts';
import { exposeApi } from './expose.ts';
import { installQuantizeWorkers } from './quantize-workers.ts';

installErrorTransfer();
installCallbackTransfer();
installQuantizeWorkers();
exposeApi(createEngineApi());
