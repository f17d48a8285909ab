/**
 * Groups the chunks a producer emits in one synchronous burst into one call of `post`: a multi-token decode step
 * hands over up to 16 tokens at once, and across a worker each call is a message, so the page gets one message
 * per GPU submission instead of one per token. Each returned promise settles when its group has been posted
 * (EngineCore awaits the last one so the result never overtakes its chunks).
 */
export function batchSink<T>(post: (chunks: T[]) => void | Promise<void>): (chunk: T) => Promise<void> {
  let pending: T[] | undefined;
  let posted: Promise<void> = Promise.resolve();
  return (chunk) => {
    if (!pending) {
      const group: T[] = (pending = []);
      posted = Promise.resolve().then(() => {
        pending = undefined;
        return post(group);
      });
    }
    pending.push(chunk);
    return posted;
  };
}
