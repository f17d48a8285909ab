/**
 * A quantize worker (browser): a nested dedicated worker started by the engine's worker (quantize-pool.ts), one band
 * per message. Started from a Blob URL in the built bundles (`?worker&inline`, src/worker/quantize-workers.ts).
 */
import { quantizeBand } from './quantize-band.ts';
import type { QuantizeReply, QuantizeRequest } from './quantize-pool.ts';

const scope = self as unknown as { onmessage: (e: MessageEvent<QuantizeRequest>) => void; postMessage(m: QuantizeReply, t?: Transferable[]): void };
scope.onmessage = (e) => {
  const { id, job } = e.data;
  try {
    const bytes = quantizeBand(job);
    scope.postMessage({ id, bytes }, [bytes.buffer]);
  } catch (err) {
    scope.postMessage({ id, error: String((err as Error)?.message ?? err) });
  }
};
