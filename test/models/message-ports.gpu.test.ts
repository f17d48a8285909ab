/**
 * Every callback crosses to the worker on its own MessageChannel (src/worker/callback-ports.ts). The page's ends must
 * be closed when each call settles, so their number stays bounded however many requests run, and `dispose()` must
 * close the rest (a call still running). Counted by watching MessageChannel and MessagePort.close in this page.
 */
import { expect, test } from 'vitest';
import { load } from '../../src/index.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';

/** Page-side ports of channels made since `watchPorts()` that are not closed yet. */
function watchPorts(): { open: () => number; made: () => number; stop: () => void } {
  const open = new Set<MessagePort>();
  let made = 0;
  const Original = globalThis.MessageChannel;
  const close = MessagePort.prototype.close;
  globalThis.MessageChannel = class extends Original {
    constructor() {
      super();
      made++;
      open.add(this.port1);
    }
  };
  MessagePort.prototype.close = function (this: MessagePort) {
    open.delete(this);
    return close.call(this);
  };
  return { open: () => open.size, made: () => made, stop: () => { globalThis.MessageChannel = Original; MessagePort.prototype.close = close; } };
}

test('callback ports stay bounded over many requests and dispose() closes the rest', async () => {
  const ports = watchPorts();
  try {
    const engine = await load(MODEL, { onProgress: () => {} });
    expect(ports.made()).toBe(1); // the progress callback's channel...
    expect(ports.open()).toBe(0); // ...closed once load() returned
    const N = 60;
    for (let i = 0; i < N; i++) {
      const text = await engine.generate('Once upon a time', { maxTokens: 1, temperature: 0 }).text();
      expect(text.length).toBeGreaterThan(0);
      const stream = engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1, stream: true });
      for await (const _ of stream) void _;
      await engine.completions.create({ prompt: 'Once', max_tokens: 1 }); // no callback: no channel
    }
    expect(ports.made()).toBe(1 + 2 * N);
    expect(ports.open()).toBe(0);

    // A generation still running when the engine is disposed: its port is closed by dispose().
    const running = engine.generate('Once upon a time', { maxTokens: 400, temperature: 0, ignoreEos: true });
    const it = running[Symbol.asyncIterator]();
    await it.next();
    expect(ports.open()).toBe(1);
    running.result.catch(() => {}); // the worker goes away under it
    await engine.dispose();
    expect(ports.open()).toBe(0);
  } finally {
    ports.stop();
  }
});
