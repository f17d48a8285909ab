/**
 * A quantize worker in Node (worker_threads), one band per message: `dist/quantize-worker.js`, started by
 * src/node-quantize-workers.ts from beside `dist/node.js`.
 */
import { parentPort } from 'node:worker_threads';
import { quantizeBand } from './quantize-band.ts';
import type { QuantizeReply, QuantizeRequest } from './quantize-pool.ts';

parentPort?.on('message', ({ id, job }: QuantizeRequest) => {
  let reply: QuantizeReply;
  try {
    const bytes = quantizeBand(job);
    parentPort!.postMessage({ id, bytes } satisfies QuantizeReply, [bytes.buffer as ArrayBuffer]);
    return;
  } catch (err) {
    reply = { id, error: String((err as Error)?.message ?? err) };
  }
  parentPort!.postMessage(reply);
});
