/**
 * Results applied in the order their work was started, with a bound on how many wait: quantize-on-load starts bands
 * on the pool as they are read and uploads (and caches) them in file order as they come back.
 */
export class InOrder {
  private readonly steps: Promise<() => unknown>[] = [];

  /** `limit`: steps that may wait unapplied before `push` applies the oldest (their bytes are the memory in flight). */
  constructor(private readonly limit: number) {}

  /** Queues `apply(result of work)`; applies the oldest steps while more than `limit` wait. */
  async push<T>(work: T | Promise<T>, apply: (r: T) => unknown): Promise<void> {
    const step = Promise.resolve(work).then((r) => () => apply(r));
    step.catch(() => {}); // surfaced when its turn comes (or never, if an earlier step failed the load)
    this.steps.push(step);
    while (this.steps.length > this.limit) await this.next();
  }

  /** Applies every waiting step, in order. */
  async drain(): Promise<void> {
    while (this.steps.length) await this.next();
  }

  private async next(): Promise<void> {
    const apply = await this.steps.shift()!;
    await apply();
  }
}
