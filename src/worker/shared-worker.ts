/**
 * The SharedWorker that hosts llmo for every tab of an origin (`load(src, { shared: true })`): one GPU device, one
 * copy of each model (worker/shared-host.ts), each tab talking comlink over its own port. A tab holds a Web Lock for
 * its lifetime; when the lock comes free (the tab closed or crashed), its requests are aborted and its models released.
 */
import { createEngineApi, ownCoreHost } from './api.ts';
import { installErrorTransfer } from './error-transfer.ts';
import { installCallbackTransfer } from './callback-ports.ts';
import { exposeApi } from './expose.ts';
import { installQuantizeWorkers } from './quantize-workers.ts';
import { sharedCoreHost } from './shared-host.ts';

/** How long a model stays loaded after its last tab left (a reload reuses it). */
const GRACE_MS = 5000;

installErrorTransfer();
installCallbackTransfer();
installQuantizeWorkers();
const host = sharedCoreHost(ownCoreHost, GRACE_MS);

(self as unknown as { onconnect: (e: MessageEvent) => void }).onconnect = (e: MessageEvent) => {
  const port = e.ports[0];
  const api = createEngineApi(host);
  const gone = () => {
    api.abortAll();
    api.dispose();
    port.close();
  };
  exposeApi(api, port, {
    /** The tab's life lock: granted to us only once the tab is gone. */
    watch(lock: string) {
      void navigator.locks.request(lock, gone);
    },
  });
};
