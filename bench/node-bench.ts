/**
 * `npm run bench -- --node`: llmo measured in Node on Dawn (`llmo/node`), reading the models from the bench's Vite
 * server (../shared and the generated fixtures), with the same prompts and runs as in the page. Also, per model, the
 * bytes one decoded token reads (weights a matvec streams + the K/V rows attention reads), and the GPU's copy
 * bandwidth measured here, so decode speed can be put against the memory roofline.
 */
import { load } from '../src/node.ts';
import { parseGgufHeader } from '../src/formats/gguf.ts';
import { openGpu } from '../src/gpu/device.ts';
import { plan, profileLlmo, runLlmo, type LlmoEnv } from './llmo-measure.ts';
import type { BenchConfig, BenchModel, LlmoMeasured } from './types.ts';

export interface NodeMeasured extends LlmoMeasured {
  /** Bytes read per decoded token at the decode prompt's length (weights + KV), from the file's tensor table. */
  bytesPerToken?: number;
}

/** The tensor table of a GGUF at `url`, reading only as much of the file as the header needs. */
async function ggufTensors(url: string): Promise<{ name: string; byteLength: number }[] | undefined> {
  const res = await fetch(url);
  if (!res.ok || !res.body) return undefined;
  const reader = res.body.getReader();
  let buf = new Uint8Array(0);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) {
        const next = new Uint8Array(buf.length + value.length);
        next.set(buf);
        next.set(value, buf.length);
        buf = next;
      }
      const h = parseGgufHeader(buf);
      if (!('needBytes' in h)) return h.tensors;
      if (done) return undefined;
    }
  } catch {
    return undefined; // not a GGUF (safetensors): no byte count
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * What one decoded token reads: every weight matrix once (the token embedding only one row, unless it is also the
 * output head), plus K and V of every layer up to `ctx` positions (f32).
 */
function decodeBytes(tensors: { name: string; byteLength: number }[], m: { nLayers: number; nKvHeads: number; headDim: number }, ctx: number): number {
  const tied = !tensors.some((t) => t.name === 'output.weight');
  let bytes = 0;
  for (const t of tensors) if (t.name !== 'token_embd.weight' || tied) bytes += t.byteLength;
  return bytes + 2 * m.nLayers * m.nKvHeads * m.headDim * 4 * ctx;
}

/** Device memory bandwidth as a 256 MiB buffer-to-buffer copy sees it (read + write bytes / time), best of 5. */
export async function copyBandwidth(): Promise<number> {
  // After measureInNode: llmo/node has handed Dawn's GPU to openGpu already (one Dawn instance per process).
  const { device } = await openGpu();
  try {
    return await copyRate(device);
  } finally {
    device.destroy();
  }
}

async function copyRate(device: GPUDevice): Promise<number> {
  const size = 256 * 2 ** 20;
  const a = device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC });
  const b = device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST });
  let best = Infinity;
  for (let i = 0; i < 6; i++) {
    const enc = device.createCommandEncoder();
    for (let r = 0; r < 4; r++) enc.copyBufferToBuffer(a, 0, b, 0, size);
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (i > 0) best = Math.min(best, performance.now() - t0); // the first run warms up
  }
  a.destroy();
  b.destroy();
  return (2 * 4 * size) / (best / 1000);
}

/** Runs llmo in Node for every model of `cfg`; `baseUrl` is the bench server's. */
export async function measureInNode(baseUrl: string, cfg: BenchConfig, log: (s: string) => void): Promise<{ adapter: string; measured: Record<string, NodeMeasured> }> {
  let adapter = '';
  let shape = { nLayers: 0, nKvHeads: 0, headDim: 0 };
  const env: LlmoEnv = {
    load: async (url, o) => {
      const e = await load(new URL(url, baseUrl).href, o);
      adapter = e.info.gpu.adapter;
      shape = e.info.config;
      return e;
    },
    log,
  };
  const measured: Record<string, NodeMeasured> = {};
  for (const m of cfg.models as BenchModel[]) {
    log(`model ${m.name} (${m.url}) — llmo in Node on Dawn`);
    const info: { ctx: number; vocab: number; plan?: ReturnType<typeof plan> } = { ctx: 0, vocab: 0 };
    let ran: Awaited<ReturnType<typeof runLlmo>>;
    try {
      ran = await runLlmo(env, m, cfg, info);
    } catch (e) {
      // One model that cannot run (a format not supported yet, too large) must not lose the others' figures.
      const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      log(`  unavailable: ${reason}`);
      measured[m.name] = { res: { engine: 'llmo', unavailable: `unavailable: ${reason}` }, tokens: [], ctx: 0, vocab: 0 };
      continue;
    }
    const { res, tokens } = ran;
    res.notes = [`Node + Dawn: ${adapter}`];
    const profile = cfg.profile ? await profileLlmo(env, m, cfg, info.plan!, info.vocab, info.ctx) : undefined;
    const tensors = await ggufTensors(new URL(m.url, baseUrl).href);
    // Decode runs from a short prompt to prompt + decodeTokens: the mean context is about half way.
    const meanCtx = info.plan!.decodePrompt.length + cfg.decodeTokens / 2;
    const bytesPerToken = tensors && decodeBytes(tensors, shape, meanCtx);
    if (bytesPerToken) log(`  ${(bytesPerToken / 2 ** 20).toFixed(1)} MiB read per decoded token`);
    measured[m.name] = { res, tokens, ctx: info.ctx, vocab: info.vocab, profile, bytesPerToken };
  }
  return { adapter, measured };
}
