/**
 * The one real pretrained model: greedy decoding from BOS must reproduce llama2.c's reference output exactly,
 * through the public API (worker, streaming) and in-page.
 */
import { test, expect } from 'vitest';
import { load } from '../../src/index.ts';

const MODEL = '/shared/models/stories260K/stories260K.gguf';

async function expected(): Promise<{ ids: number[]; text: string }> {
  const ids = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
  const text = await (await fetch('/shared/models/stories260K/expected-greedy-200.txt')).text();
  return { ids, text };
}

test('worker: greedy from BOS reproduces expected-greedy-200 (ids and streamed text)', async () => {
  const exp = await expected();
  const fractions: number[] = [];
  const engine = await load(MODEL, { onProgress: (p) => fractions.push(p.fraction) });
  try {
    expect(engine.info.config.arch).toBe('llama');
    expect(fractions.at(-1)).toBe(1);
    let streamed = '';
    const stream = engine.generate([exp.ids[0]], { maxTokens: exp.ids.length - 1, temperature: 0, ignoreEos: true });
    for await (const c of stream) streamed += c.text;
    const r = await stream.result;
    expect([exp.ids[0], ...r.tokens]).toEqual(exp.ids);
    expect(streamed).toBe(r.text);
    expect(r.text.trim()).toBe(exp.text.trim());
    expect(r.stats.completionTokens).toBe(exp.ids.length - 1);
    console.log('stories260K stats', JSON.stringify(r.stats));
  } finally {
    await engine.dispose();
  }
});
