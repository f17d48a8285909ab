/**
 * In the page: one engine, the same greedy request through each path, rounds interleaved so that load and
 * thermal drift hit every path alike. Time to first token and decode tok/s are measured where the caller sees
 * them (wall clock around the path's own streaming API); the token count is the engine's for the same request
 * (greedy, so every path produces the same tokens, which is checked).
 */
import OpenAI from 'openai';
import { streamText } from 'ai';
import { load, openaiFetch, ChunkStream, type Engine, type ChatCompletionChunk, type ChatMessage } from '../../src/index.ts';
import { createLlmo } from '../../src/ai-sdk.ts';
import { createLanguageModel } from '../../src/prompt-api.ts';

export interface PathResult { path: string; ttftMs: number[]; decodeTokPerSec: number[] }
export interface OverheadResult { path: string; msPerRequest: number; chunks: number }
export interface IntegrationsReport { model: string; contextLength: number; tokens: number; rounds: number; adapter: string; paths: PathResult[]; overhead: OverheadResult[] }


async function run(model: string, contextLength: number, rounds: number): Promise<IntegrationsReport> {
  const engine = await load(model, { contextLength });
  const question = 'What is the state of the union?';
  const messages = [{ role: 'user' as const, content: question }];
  const client = new OpenAI({ fetch: openaiFetch(engine), apiKey: 'local', dangerouslyAllowBrowser: true });
  const llmo = createLlmo(engine);
  const LM = createLanguageModel({ model: engine });
  const session = await LM.create({ temperature: 0, topK: 1 });

  /** Each path yields text pieces; the harness stamps the first and the last. */
  const paths: Record<string, () => AsyncIterable<string>> = {
    direct: async function* () {
      for await (const c of engine.chat.completions.create({ messages, temperature: 0, stream: true })) if (c.choices[0].delta.content) yield c.choices[0].delta.content;
    },
    'openai (openaiFetch)': async function* () {
      for await (const c of await client.chat.completions.create({ model: 'm', messages, temperature: 0, stream: true })) if (c.choices[0]?.delta.content) yield c.choices[0].delta.content;
    },
    'ai-sdk (streamText)': () => streamText({ model: llmo(), prompt: question, temperature: 0 }).textStream,
    'prompt-api (promptStreaming)': async function* () {
      const s = await session.clone();
      yield* s.promptStreaming(question) as unknown as AsyncIterable<string>;
      s.destroy();
    },
  };
  const reference = await engine.chat.completions.create({ messages, temperature: 0 });
  const tokens = reference.usage.completion_tokens;
  const text = reference.choices[0].message.content;
  const results = Object.keys(paths).map((path) => ({ path, ttftMs: [] as number[], decodeTokPerSec: [] as number[] }));
  for (let r = -1; r < rounds; r++) {
    for (const res of results) {
      const t0 = performance.now();
      let first = 0;
      let out = '';
      for await (const piece of paths[res.path]()) {
        if (!first) first = performance.now();
        out += piece;
      }
      const end = performance.now();
      if (out !== text) throw new Error(`${res.path} produced different text: ${JSON.stringify(out.slice(0, 80))}`);
      console.log(`round ${r} ${res.path}: ${Math.round(first - t0)} ms to first token, ${Math.round(end - first)} ms after`);
      if (r < 0) continue; // warm-up round
      res.ttftMs.push(first - t0);
      res.decodeTokPerSec.push((tokens - 1) / ((end - first) / 1000));
    }
  }
  const info = engine.info;
  const overhead = await adapterOverhead(engine, messages);
  await engine.dispose();
  return { model, contextLength, tokens, rounds, adapter: info.gpu.adapter, paths: results, overhead };
}

/**
 * Each adapter's own cost, apart from the GPU: the engine's recorded chunks for the request are replayed by a stub
 * engine (same ChunkStream, no worker, no GPU), and whole requests through each path are timed, many times.
 */
async function adapterOverhead(engine: Engine, messages: ChatMessage[]): Promise<OverheadResult[]> {
  const recorded: ChatCompletionChunk[] = [];
  for await (const c of engine.chat.completions.create({ messages, temperature: 0, stream: true })) recorded.push(c);
  const ids = await engine.tokenizeChat({ messages });
  const stub = {
    info: engine.info,
    chat: { completions: { create: (req: { stream?: boolean }) => {
      if (!req.stream) throw new Error('stub streams only');
      return new ChunkStream<ChatCompletionChunk>(async (push) => { for (const c of recorded) push(c); }, () => {});
    } } },
    tokenizeChat: async () => ids,
  } as unknown as Engine;
  const fetchFn = openaiFetch(stub);
  const client = new OpenAI({ fetch: fetchFn, apiKey: 'local', dangerouslyAllowBrowser: true });
  const llmo = createLlmo(stub);
  const session = await createLanguageModel({ model: stub }).create({ temperature: 0, topK: 1 });
  const question = String(messages[0].content);
  const paths: Record<string, () => Promise<void>> = {
    'direct (replayed)': async () => { for await (const _ of stub.chat.completions.create({ messages, stream: true })) void _; },
    'openaiFetch alone (SSE body read)': async () => {
      const r = await fetchFn('https://x/v1/chat/completions', { method: 'POST', body: JSON.stringify({ messages, stream: true }) });
      await r.text();
    },
    'openai (openaiFetch)': async () => { for await (const _ of await client.chat.completions.create({ model: 'm', messages: messages as never, stream: true })) void _; },
    'ai-sdk provider alone (doStream read)': async () => {
      const { stream } = await llmo().doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: question }] }] });
      const rd = stream.getReader();
      while (!(await rd.read()).done);
    },
    'ai-sdk (streamText)': async () => { for await (const _ of streamText({ model: llmo(), prompt: question }).textStream) void _; },
    'prompt-api (promptStreaming)': async () => { for await (const _ of (await session.clone()).promptStreaming(question) as unknown as AsyncIterable<string>) void _; },
  };
  const out: OverheadResult[] = [];
  for (const [path, run] of Object.entries(paths)) {
    for (let i = 0; i < 20; i++) await run();
    const n = 200;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await run();
    out.push({ path, msPerRequest: (performance.now() - t0) / n, chunks: recorded.length });
  }
  return out;
}

(window as unknown as { runIntegrationsBench: typeof run }).runIntegrationsBench = run;
