/**
 * llama.cpp's sentence embeddings (wllama 3.8.1 `createEmbedding`, WASM CPU, one thread) as a reference for the
 * encoder: one GGUF loaded with `embeddings: true`, one request per input (with an array input wllama 3.8.1
 * returned only the first vector for 2 inputs and hung for 6). Inputs are token ids, so tokenization is not part of
 * the comparison; llama-server L2-normalises the pooled vector.
 */
import { Wllama } from '@wllama/wllama/esm/index.js';
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import { EngineStateError, ModelFetchError } from '../../src/errors.ts';

const engines = new Map<string, Promise<Wllama>>();

async function load(url: string): Promise<Wllama> {
  const res = await fetch(url);
  if (!res.ok) throw new ModelFetchError(`fetching ${url} gave HTTP ${res.status}`, url, res.status);
  const blob = await res.blob();
  const quiet = () => {};
  const w = new Wllama({ default: wasmUrl }, { logger: { debug: quiet, log: quiet, warn: quiet, error: console.error }, suppressNativeLog: true });
  w.setCompat(null); // never fetch the compat build from a CDN
  // Pooling as the GGUF says; batch = context so a whole sequence is one ubatch (non-causal models need that).
  await w.loadModel([blob], { n_ctx: 0, n_threads: 1, n_parallel: 1, embeddings: true, n_batch: 2048, n_ubatch: 2048, flash_attn: false });
  return w;
}

function engine(url: string): Promise<Wllama> {
  let e = engines.get(url);
  if (!e) {
    e = load(url);
    engines.set(url, e);
    e.catch(() => engines.delete(url));
  }
  return e;
}

/** llama.cpp's (normalised) embedding of each token-id sequence, one request each. */
export async function wllamaEmbeddings(url: string, inputs: readonly (readonly number[])[]): Promise<{ vectors: Float32Array[]; promptTokens: number[] }> {
  const w = await engine(url);
  const vectors: Float32Array[] = [];
  const promptTokens: number[] = [];
  for (const ids of inputs) {
    const r = await w.createEmbedding({ input: [...ids] });
    const e = r?.data?.[0]?.embedding;
    if (!Array.isArray(e)) throw new EngineStateError(`wllama returned no embedding: ${JSON.stringify(r).slice(0, 200)}`);
    vectors.push(Float32Array.from(e));
    promptTokens.push(r.usage.prompt_tokens);
  }
  return { vectors, promptTokens };
}

export async function wllamaEmbedExit(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  for (const e of await Promise.allSettled(all)) if (e.status === 'fulfilled') await e.value.exit();
}
