/**
 * Pieces of one streamed request, in order, as an async iterable. The producer pushes pieces; when its promise
 * settles the stream ends (and the iterator rethrows its error, e.g. AbortError). `settled` carries its result.
 */
export class ChunkStream<T, R = unknown> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private wake?: () => void;
  private ended = false;
  private error: unknown;
  /** The producer's result once every piece was pushed. */
  protected readonly settled: Promise<R>;

  /** @internal */
  constructor(start: (push: (c: T) => void) => Promise<R>, private readonly stop: () => void) {
    this.settled = start((c) => {
      this.queue.push(c);
      this.wake?.();
    }).then(
      (r) => { this.finish(); return r; },
      (e) => { this.error = e; this.finish(); throw e; },
    );
    // The iterator rethrows; a caller that only iterates must not also see an unhandled rejection.
    this.settled.catch(() => {});
  }

  private finish(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Stops the request (as aborting its signal does). */
  abort(): void {
    this.stop();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.queue.length) {
        yield this.queue.shift()!;
        continue;
      }
      if (this.ended) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}
