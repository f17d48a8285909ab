/**
 * Callbacks (progress, streamed chunks) handed to the worker, each over its own MessageChannel, closed on both sides
 * when its call settles and, page side, when the engine is disposed. comlink's own `proxy()` leaves the page's port
 * open until the worker's copy happens to be garbage-collected (hundreds stayed open after thousands of requests,
 * and `dispose()` released none of them).
 */
import * as Comlink from 'comlink';

/** Page side: a callback on its way to the worker; `port` is the page's end once sent. */
class PortCallback {
  port?: MessagePort;
  constructor(readonly fn: object) {}
}

/** Worker side: the port behind each callback proxy, to close it when the call is over. */
const workerPorts = new WeakMap<object, MessagePort>();

const HANDLER = 'llmoCallback';

/** Registers the transfer on this side (page and worker both call it; idempotent). */
export function installCallbackTransfer(): void {
  if (Comlink.transferHandlers.has(HANDLER)) return;
  Comlink.transferHandlers.set(HANDLER, {
    canHandle: (v: unknown): v is PortCallback => v instanceof PortCallback,
    serialize(v: PortCallback): [MessagePort, Transferable[]] {
      const { port1, port2 } = new MessageChannel();
      Comlink.expose(v.fn, port1);
      v.port = port1;
      return [port2, [port2]];
    },
    deserialize(port: MessagePort): unknown {
      port.start();
      const remote = Comlink.wrap(port);
      workerPorts.set(remote, port);
      return remote;
    },
  } as Comlink.TransferHandler<unknown, MessagePort>);
}

/** Worker side: closes a callback's port once the call that received it has settled. */
export function closeCallback(cb: unknown): void {
  if (cb && (typeof cb === 'object' || typeof cb === 'function')) workerPorts.get(cb)?.close();
}

/** Wraps callbacks for one engine and closes their ports: when each call settles, and all of them on dispose. */
export interface Callbacks {
  wrap<T extends object>(f: T): T;
  release(cb: unknown): void;
  releaseAll(): void;
}

/** Page side, for an engine in a worker. */
export class PortCallbacks implements Callbacks {
  private readonly live = new Set<PortCallback>();
  /** Callbacks not yet released (for tests: stays bounded however many requests ran). */
  get open(): number {
    return this.live.size;
  }
  wrap<T extends object>(f: T): T {
    const c = new PortCallback(f);
    this.live.add(c);
    return c as unknown as T;
  }
  release(cb: unknown): void {
    if (!(cb instanceof PortCallback)) return;
    cb.port?.close();
    this.live.delete(cb);
  }
  releaseAll(): void {
    for (const c of this.live) c.port?.close();
    this.live.clear();
  }
}

/** In-thread engines (`worker: false`, Node): callbacks are called directly. */
export const directCallbacks: Callbacks = { wrap: (f) => f, release: () => {}, releaseAll: () => {} };
