/**
 * llama.cpp (as @wllama/wllama 3.8.1, compiled to WASM, optionally with its WebGPU backend) as a reference engine for
 * browser tests: greedy token ids, last-position log-probabilities, and tokenization, all by token id.
 *
 * wllama 3.x wraps llama-server: it takes prompts as text only and has no tokenize/decode/logits API. So:
 * - Prompts given as ids run on a copy of the GGUF whose vocabulary is one unique marker text per id
 *   (gguf-vocab-rewrite.ts); the weights are the original ones, so the numbers are llama.cpp's own.
 * - Generated ids come from the completion's `logprobs.content[].id`.
 * - Logits come back as llama.cpp's log-softmax over the whole vocabulary (`n_probs` = vocab size).
 * - Tokenization runs the real vocabulary through llama-server's `logit_bias` string form (which tokenizes the
 *   string with the model's tokenizer) and reads the token multiset back from the biased probabilities; the order
 *   is the unique way those tokens spell the text (see wllamaTokenize).
 *
 * WebGPU: wllama 3.8.1's ggml-webgpu needs the adapter feature `shader-f16`. SwiftShader (our headless Chromium)
 * lacks it, and llama.cpp then silently runs on the CPU; backend 'webgpu' detects that and throws
 * WebGPUUnavailableError instead of passing CPU numbers off as WebGPU ones.
 *
 * Multi-threading needs cross-origin isolation (COOP/COEP headers) which the test server does not send; one
 * thread is used everywhere, which is plenty for test-sized models.
 *
 * One wllama instance (a worker) is kept per (model URL, vocabulary kind, backend, KV type); wllamaExitAll() ends them.
 */
import { Wllama, type WllamaLogger } from '@wllama/wllama/esm/index.js';
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url';
import {
  EngineStateError, InvalidRequestError, ModelFetchError, TokenizerError, WebGPUUnavailableError,
} from '../../src/errors.ts';
import { rewriteVocabForIdPrompts, showByteTokensAsText } from './gguf-vocab-rewrite.ts';

export type WllamaBackend = 'cpu' | 'webgpu';
export interface WllamaRefOptions {
  /** 'cpu' (default): WASM CPU path, one thread. 'webgpu': all layers offloaded to llama.cpp's WebGPU backend. */
  backend?: WllamaBackend;
  /** KV cache element type. Default 'f32' (the exact reference); llama.cpp's own default is 'f16'. */
  kvCache?: 'f32' | 'f16';
  /** Test-only: treat this token id as EOS (ids prompts), so that end-of-generation handling gets exercised. */
  eosId?: number;
  /**
   * A LoRA adapter GGUF applied with this scale (llama.cpp's own adapter loader, `lora_adapters`). wllama writes
   * every blob it is given as a model shard; llama.cpp reads only the first (no split metadata), so the adapter goes
   * in as the second blob and is named by that shard's path. `key` names the adapter in the engine cache.
   */
  lora?: { blob: Blob; scale: number; key: string };
}

/** Token data as llama-server reports it for each generated position (`logprobs.content[]`). */
interface TokenProb {
  id: number;
  token: string;
  bytes: number[];
  /** Pre-sampling (softmax of raw logits); null when the probability underflowed to 0 (JSON has no -Infinity). */
  logprob?: number | null;
  /** Post-sampling probability (request field `post_sampling_probs`). */
  prob?: number;
}
interface ContentEntry extends TokenProb {
  top_logprobs?: TokenProb[];
  top_probs?: TokenProb[];
}
interface CompletionResult {
  choices: { text: string; finish_reason: 'stop' | 'length' | null; logprobs: { content: ContentEntry[] } | null }[];
  usage: { prompt_tokens: number; completion_tokens: number };
  /** llama-server's own timing of the request (prompt = prefill, predicted = decode). */
  timings?: WllamaTimings;
}
export interface WllamaTimings {
  prompt_n: number;
  prompt_ms: number;
  prompt_per_second: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number;
}
/** llama-server request fields that wllama's types do not list but pass through to the server untouched. */
interface ServerCompletionRequest {
  prompt: string;
  max_tokens: number;
  temperature: number;
  top_k?: number;
  samplers?: string[];
  n_probs?: number;
  post_sampling_probs?: boolean;
  logit_bias?: [string | number, number][];
  ignore_eos?: boolean;
  cache_prompt: boolean;
}

type VocabKind = 'ids' | 'text';
interface Engine {
  wllama: Wllama;
  nVocab: number;
  /** Only for 'ids' engines: the text that tokenizes to exactly these ids. */
  promptText?: (ids: readonly number[]) => string;
  /** Only for 'text' engines: byte value of each SentencePiece byte token (printed by name, see gguf-vocab-rewrite). */
  byteValue?: Map<number, number>;
  /** Native log lines from loading (backend selection, offload counts). */
  log: string[];
}

const engines = new Map<string, Promise<Engine>>();

async function fetchModel(url: string): Promise<Blob> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (cause) {
    throw new ModelFetchError(`could not fetch ${url}: ${String(cause)}`, url, undefined, { cause });
  }
  if (!res.ok) throw new ModelFetchError(`fetching ${url} gave HTTP ${res.status}: check the path`, url, res.status);
  return await res.blob();
}

function capturingLogger(log: string[]): WllamaLogger {
  const keep = (...args: unknown[]): void => {
    log.push(args.map(String).join(' '));
  };
  // Keep errors visible; everything else is captured (llama.cpp is chatty) for wllamaLoadLog().
  return { debug: keep, log: keep, warn: keep, error: (...args: unknown[]) => { keep(...args); console.error(...args); } };
}

async function loadEngine(url: string, kind: VocabKind, opts: Required<Omit<WllamaRefOptions, 'eosId' | 'lora'>> & WllamaRefOptions): Promise<Engine> {
  const { backend, kvCache } = opts;
  const file = await fetchModel(url);
  const rewritten = kind === 'ids' ? await rewriteVocabForIdPrompts(file, { eosId: opts.eosId }) : await showByteTokensAsText(file);
  const log: string[] = [];
  const wllama = new Wllama({ default: wasmUrl }, { logger: capturingLogger(log), suppressNativeLog: false });
  wllama.setCompat(null); // never fetch wllama's compat build from its CDN (Chromium has JSPI and Memory64)
  const loraPath = 'models/model-00002-of-00002.gguf';
  await wllama.loadModel(opts.lora ? [rewritten.blob, opts.lora.blob] : [rewritten.blob], {
    ...(opts.lora ? { lora_adapters: [{ path: loraPath, scale: opts.lora.scale }] } : {}),
    n_ctx: 0, // 0: the model's training context
    n_gpu_layers: backend === 'webgpu' ? 999 : 0,
    n_threads: 1,
    n_parallel: 1,
    cache_type_k: kvCache,
    cache_type_v: kvCache,
    // llama.cpp's CPU flash-attention kernel rounds V to f16 even with an f32 cache: off, so the reference is f32.
    flash_attn: false,
  });
  if (backend === 'webgpu' && !log.some((l) => /offloaded [1-9]\d*\/\d+ layers to GPU/.test(l))) {
    await wllama.exit();
    throw new WebGPUUnavailableError(
      `llama.cpp (wllama) offloaded no layer of ${url} to WebGPU and fell back to the CPU: its WebGPU backend ` +
      `needs the adapter feature 'shader-f16', which this adapter ` +
      `${(await navigator.gpu?.requestAdapter())?.features.has('shader-f16') ? 'has (see wllamaLoadLog)' : 'lacks'}; use backend 'cpu'`,
    );
  }
  const nVocab = wllama.getModelMetadata().hparams.nVocab;
  return 'promptText' in rewritten
    ? { wllama, nVocab, log, promptText: rewritten.promptText }
    : { wllama, nVocab, log, byteValue: rewritten.byteValue };
}

function getEngine(url: string, kind: VocabKind, opts?: WllamaRefOptions): Promise<Engine> {
  const backend = opts?.backend ?? 'cpu';
  const kvCache = opts?.kvCache ?? 'f32';
  const key = `${kind}|${backend}|${kvCache}|${opts?.eosId ?? ''}|${opts?.lora ? `${opts.lora.key}*${opts.lora.scale}` : ''}|${url}`;
  let e = engines.get(key);
  if (!e) {
    e = loadEngine(url, kind, { backend, kvCache, eosId: opts?.eosId, lora: opts?.lora });
    engines.set(key, e);
    e.catch(() => engines.delete(key)); // a failed load can be retried
  }
  return e;
}

async function complete(engine: Engine, req: ServerCompletionRequest): Promise<CompletionResult> {
  // wllama types the prompt as text and omits llama-server's own fields; the body goes to the server as JSON.
  const res = (await engine.wllama.createCompletion(req as unknown as Parameters<Wllama['createCompletion']>[0])) as unknown;
  const r = res as CompletionResult;
  if (!r?.choices?.[0]) throw new EngineStateError(`wllama returned no completion choice: ${JSON.stringify(res).slice(0, 300)}`);
  return r;
}

/** A completion whose prompt is token ids; checks that llama.cpp saw exactly that many prompt tokens. */
async function completeIds(engine: Engine, prompt: readonly number[], req: Omit<ServerCompletionRequest, 'prompt'>): Promise<CompletionResult> {
  if (prompt.length === 0) throw new InvalidRequestError('prompt is empty: give at least one token id (e.g. BOS)');
  if (!engine.promptText) throw new EngineStateError('internal: engine has no id-marker vocabulary');
  const r = await complete(engine, { ...req, prompt: engine.promptText(prompt) });
  if (r.usage.prompt_tokens !== prompt.length) {
    throw new EngineStateError(`llama.cpp read ${r.usage.prompt_tokens} prompt tokens where ${prompt.length} ids were sent: the id-marker vocabulary did not map 1:1`);
  }
  return r;
}

/** Sampler settings that make llama-server pick the argmax: only a top-1 filter before the final draw. */
const GREEDY = { temperature: 0, top_k: 1, samplers: ['top_k'] } as const;

/**
 * Greedy decoding with llama.cpp on a GGUF at `modelUrl`. `prompt` is token ids (BOS included if wanted). Returns
 * the `nNew` generated ids. An end-of-generation token is returned like any other and decoding continues after it
 * (llama-server stops at EOG, so the sequence so far is resubmitted as a new prompt, which llama.cpp then evaluates
 * as one batch). Argmax ties are broken by llama.cpp's top-k sort.
 */
export async function wllamaGreedy(modelUrl: string, prompt: number[], nNew: number, opts?: WllamaRefOptions): Promise<number[]> {
  const engine = await getEngine(modelUrl, 'ids', opts);
  const nCtx = engine.wllama.getModelMetadata().hparams.nCtxTrain;
  if (prompt.length + nNew > nCtx) {
    throw new InvalidRequestError(`prompt (${prompt.length}) + nNew (${nNew}) exceeds the context of ${nCtx} tokens`);
  }
  const out: number[] = [];
  while (out.length < nNew) {
    const r = await completeIds(engine, [...prompt, ...out], {
      ...GREEDY,
      samplers: [...GREEDY.samplers],
      max_tokens: nNew - out.length,
      n_probs: 1,
      cache_prompt: false, // every request computed from scratch: no state carried between calls
    });
    const choice = r.choices[0];
    const ids = (choice.logprobs?.content ?? []).map((c) => c.id);
    out.push(...ids);
    if (out.length >= nNew) break;
    if (choice.finish_reason !== 'stop') {
      throw new EngineStateError(`wllama stopped after ${out.length}/${nNew} tokens (finish_reason ${choice.finish_reason})`);
    }
    // Stopped on an end-of-generation token. If `content` left it out, the argmax at this position names it.
    if (ids.length === 0 || !engine.wllama.isTokenEOG(ids[ids.length - 1])) {
      out.push(argmax(await logitsOf(engine, [...prompt, ...out])));
    }
  }
  return out.slice(0, nNew);
}

/**
 * Log-probabilities over the whole vocabulary after the last prompt token: llama.cpp's log_softmax(logits), as float32.
 * Raw logits are not reachable through wllama; these equal them up to one additive constant, so compare after
 * subtracting the max (or log-softmaxing our logits). Entries whose probability underflows to 0 are -Infinity.
 */
export async function wllamaLogits(modelUrl: string, prompt: number[], opts?: WllamaRefOptions): Promise<Float32Array> {
  return await logitsOf(await getEngine(modelUrl, 'ids', opts), prompt);
}

/**
 * llama.cpp's log-probability of each next token of `tokens` after positions from..n−2: log p(tokens[j+1] | tokens[..j])
 * (what its perplexity tool sums). One completion per position; `cache_prompt` lets llama-server keep the KV of the
 * shared prefix (it reuses only cache rows whose tokens match the new prompt), so each call computes about one token.
 */
export async function wllamaNextTokenLogprobs(modelUrl: string, tokens: number[], from: number, opts?: WllamaRefOptions): Promise<number[]> {
  const engine = await getEngine(modelUrl, 'ids', opts);
  const out: number[] = [];
  for (let j = from; j < tokens.length - 1; j++) {
    const r = await completeIds(engine, tokens.slice(0, j + 1), {
      ...GREEDY,
      samplers: [...GREEDY.samplers],
      max_tokens: 1,
      n_probs: engine.nVocab,
      cache_prompt: true,
    });
    const top = r.choices[0].logprobs?.content?.[0]?.top_logprobs;
    const hit = top?.find((t) => t.id === tokens[j + 1]);
    if (!top || top.length !== engine.nVocab || !hit) {
      throw new EngineStateError(`wllama returned ${top?.length ?? 0} log-probabilities at position ${j}, expected ${engine.nVocab}`);
    }
    out.push(hit.logprob ?? -Infinity);
  }
  return out;
}

/** llama.cpp at one position: the log-probability of a given next token, and its own top token. */
export interface ForcedStep {
  logprob: number;
  top: { id: number; logprob: number };
}

/**
 * llama.cpp's log-probability of `next` after `prefix` (ids), and its argmax there, in one cheap completion: a large
 * logit bias makes the completion pick `next`, and llama-server reports the picked token's pre-sampling
 * log-probability (softmax of the raw logits, before any bias) and, with `n_probs: 1`, the top raw token, so a reply
 * carries two entries instead of the whole vocabulary. `cache_prompt` lets consecutive prefixes reuse the KV rows.
 */
export async function wllamaForcedStep(modelUrl: string, prefix: readonly number[], next: number, opts?: WllamaRefOptions): Promise<ForcedStep> {
  return forcedStep(await getEngine(modelUrl, 'ids', opts), prefix, next);
}

async function forcedStep(engine: Engine, prefix: readonly number[], next: number): Promise<ForcedStep> {
  const r = await completeIds(engine, prefix, {
    ...GREEDY,
    samplers: [...GREEDY.samplers],
    max_tokens: 1,
    n_probs: 1,
    logit_bias: [[next, FORCE_BIAS]],
    cache_prompt: true,
  });
  const c = r.choices[0].logprobs?.content?.[0];
  const top = c?.top_logprobs?.[0];
  if (!c || c.id !== next || !top) {
    throw new EngineStateError(`wllama did not pick the forced token ${next} after ${prefix.length} tokens (got ${c?.id})`);
  }
  return { logprob: c.logprob ?? -Infinity, top: { id: top.id, logprob: top.logprob ?? -Infinity } };
}

/**
 * The same numbers as wllamaNextTokenLogprobs (measured: equal to 1e-5), about twice as fast: one wllamaForcedStep
 * per position.
 */
export async function wllamaForcedLogprobs(modelUrl: string, tokens: number[], from: number, opts?: WllamaRefOptions): Promise<number[]> {
  const engine = await getEngine(modelUrl, 'ids', opts);
  const out: number[] = [];
  for (let j = from; j < tokens.length - 1; j++) out.push((await forcedStep(engine, tokens.slice(0, j + 1), tokens[j + 1])).logprob);
  return out;
}

/** A bias no logit difference of a sane model comes near: the biased token is always the argmax. */
const FORCE_BIAS = 1e4;

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function logitsOf(engine: Engine, prompt: readonly number[]): Promise<Float32Array> {
  const r = await completeIds(engine, prompt, {
    ...GREEDY,
    samplers: [...GREEDY.samplers],
    max_tokens: 1,
    n_probs: engine.nVocab, // pre-sampling probabilities: softmax of the raw logits
    cache_prompt: false,
  });
  const top = r.choices[0].logprobs?.content?.[0]?.top_logprobs;
  if (!top || top.length !== engine.nVocab) {
    throw new EngineStateError(`wllama returned ${top?.length ?? 0} log-probabilities, expected ${engine.nVocab}`);
  }
  const out = new Float32Array(engine.nVocab).fill(-Infinity);
  for (const t of top) out[t.id] = t.logprob ?? -Infinity;
  return out;
}

/**
 * Tokenization by bias readout: temperature T = 2^20 flattens the model's own logits to within ~1e-4 of each other;
 * each occurrence of a token in the text adds STEP = 1/16 to its tempered logit (bias STEP·T), and EOS gets a lead
 * of 20 over every biased token so that it is the token sampled (its empty text keeps invalid UTF-8 bytes out of
 * the response). All other log-probabilities stay above float32 underflow while STEP·(bytes + 1) + 20 < ~85.
 */
const TOK_TEMP = 2 ** 20;
const TOK_STEP = 1 / 16;
const TOK_EOS_LEAD = 20;
const TOK_MAX_BYTES = 1000;

/**
 * Tokenizes `text` with the model's own llama.cpp tokenizer, without BOS/EOS and without parsing special-token
 * text (llama.cpp `common_tokenize(vocab, text, add_special=false, parse_special=false)`).
 *
 * How: llama-server tokenizes each string in `logit_bias` with the model's tokenizer and adds the bias once per
 * resulting token; the biased post-sampling probabilities give each token's count (see TOK_* above). The order is
 * then the arrangement of that multiset whose bytes spell the text (with or without the leading space that
 * SentencePiece adds). If several arrangements spell it (e.g. "!!" "!!!" vs "!!!" "!!"), this throws
 * AmbiguousTokenizationError listing them rather than guess (2 of llama.cpp's 46 llama-spm golden cases).
 * Needs a model with an EOS token; text up to 1000 UTF-8 bytes. Checked on SentencePiece vocabularies; with a
 * byte-level BPE vocabulary, text whose tokens split a UTF-8 character fails (llama-server cannot encode the
 * partial character in its JSON reply).
 */
export async function wllamaTokenize(modelUrl: string, text: string): Promise<number[]> {
  if (text.length === 0) return [];
  const engine = await getEngine(modelUrl, 'text');
  const textBytes = new TextEncoder().encode(text);
  if (textBytes.length > TOK_MAX_BYTES) {
    throw new InvalidRequestError(`wllamaTokenize takes at most ${TOK_MAX_BYTES} UTF-8 bytes (got ${textBytes.length}): split the text`);
  }
  const eos = engine.wllama.getEOS();
  if (eos < 0) throw new TokenizerError('wllamaTokenize needs a model with an EOS token (it is what gets sampled)');
  const maxCount = textBytes.length + 1; // each token spells ≥ 1 byte; +1 for the SentencePiece space prefix
  // EOS + distinct tokens (≤ maxCount) + at least one unbiased token as the zero-count baseline.
  const nProbs = Math.min(engine.nVocab, maxCount + 2);
  const r = await complete(engine, {
    prompt: '0', // any fixed prompt: only differences between biased and unbiased tokens matter
    max_tokens: 1,
    temperature: TOK_TEMP,
    samplers: ['temperature'],
    logit_bias: [[text, TOK_STEP * TOK_TEMP], [eos, (TOK_STEP * maxCount + TOK_EOS_LEAD) * TOK_TEMP]],
    n_probs: nProbs,
    post_sampling_probs: true,
    cache_prompt: false,
  });
  const probs = r.choices[0].logprobs?.content?.[0]?.top_probs?.filter((p) => p.id !== eos);
  if (!probs || probs.length === 0) throw new EngineStateError('wllama returned no post-sampling probabilities');
  const lps = probs.map((p) => Math.log(p.prob ?? 0));
  const base = Math.min(...lps);
  if (!Number.isFinite(base)) throw new TokenizerError('a probability underflowed to 0: the text is too long for one call');
  const counts = new Map<number, { count: number; bytes: Uint8Array }>();
  let total = 0;
  for (let i = 0; i < probs.length; i++) {
    const k = (lps[i] - base) / TOK_STEP;
    const kr = Math.round(k);
    if (!(Math.abs(k - kr) < 0.25)) {
      throw new TokenizerError(`token ${probs[i].id}: bias readout ${k.toFixed(3)} is not a whole count; the model's logits spread too far`);
    }
    if (kr > 0) {
      const byte = engine.byteValue?.get(probs[i].id);
      counts.set(probs[i].id, { count: kr, bytes: Uint8Array.from(byte === undefined ? probs[i].bytes : [byte]) });
      total += kr;
    }
  }
  if (counts.size >= probs.length) throw new EngineStateError('internal: every returned token was biased; request more n_probs');
  const spaced = new TextEncoder().encode(' ' + text);
  const found = [...arrangements(counts, total, spaced), ...arrangements(counts, total, textBytes)];
  if (found.length === 1) return found[0];
  const ids = [...counts.keys()].join(',');
  if (found.length === 0) {
    throw new TokenizerError(`tokens {${ids}} of ${JSON.stringify(text)} cannot be arranged to spell it (special tokens or a normalizer?)`);
  }
  throw new AmbiguousTokenizationError(
    `tokens {${ids}} of ${JSON.stringify(text)} spell it in ${found.length >= MAX_ORDERS ? `≥ ${MAX_ORDERS}` : found.length} orders; llama.cpp's order cannot be read back`,
    found,
  );
}

/** wllamaTokenize read back the token multiset, but it spells the text in several orders (up to MAX_ORDERS are listed). */
export class AmbiguousTokenizationError extends TokenizerError {
  constructor(message: string, readonly candidates: number[][]) {
    super(message);
  }
}

const MAX_ORDERS = 64;

/** All orders (at most MAX_ORDERS are collected) of the token multiset whose bytes concatenate to `target`. */
function arrangements(counts: Map<number, { count: number; bytes: Uint8Array }>, total: number, target: Uint8Array): number[][] {
  const found: number[][] = [];
  const seq: number[] = [];
  const entries = [...counts.entries()];
  let steps = 0;
  const go = (pos: number): void => {
    if (found.length >= MAX_ORDERS) return;
    if (++steps > 1e6) throw new TokenizerError('tokenization order search exceeded 1e6 steps');
    if (seq.length === total) {
      if (pos === target.length) found.push([...seq]);
      return;
    }
    for (const [id, e] of entries) {
      if (e.count === 0 || e.bytes.length === 0 || pos + e.bytes.length > target.length) continue;
      let match = true;
      for (let j = 0; j < e.bytes.length && match; j++) match = target[pos + j] === e.bytes[j];
      if (!match) continue;
      e.count--;
      seq.push(id);
      go(pos + e.bytes.length);
      seq.pop();
      e.count++;
    }
  };
  go(0);
  return found;
}

/** Vocabulary size, special ids and training context of `modelUrl`, as llama.cpp read them. */
export async function wllamaModelInfo(modelUrl: string): Promise<{ nVocab: number; bos: number; eos: number; nCtxTrain: number }> {
  const { wllama, nVocab } = await getEngine(modelUrl, 'ids');
  return { nVocab, bos: wllama.getBOS(), eos: wllama.getEOS(), nCtxTrain: wllama.getModelMetadata().hparams.nCtxTrain };
}

/** Native log lines from loading `modelUrl` for greedy/logits (which backend was used, layers offloaded). */
export async function wllamaLoadLog(modelUrl: string, opts?: WllamaRefOptions): Promise<string[]> {
  return [...(await getEngine(modelUrl, 'ids', opts)).log];
}

/** Loads `modelUrl` for id prompts (if not loaded yet) and says how long that took, with llama.cpp's load log. */
export async function wllamaLoadTimed(modelUrl: string, opts?: WllamaRefOptions): Promise<{ ms: number; log: string[] }> {
  const t0 = performance.now();
  const e = await getEngine(modelUrl, 'ids', opts);
  return { ms: performance.now() - t0, log: [...e.log] };
}

/**
 * One timed greedy completion for benchmarks: `prompt` ids from scratch (no prompt cache), `nNew` tokens with
 * end-of-generation tokens suppressed (llama-server's ignore_eos), and llama-server's own timings of it.
 */
export async function wllamaTimedCompletion(modelUrl: string, prompt: number[], nNew: number, opts?: WllamaRefOptions): Promise<{ timings: WllamaTimings; wallMs: number; generated: number }> {
  const engine = await getEngine(modelUrl, 'ids', opts);
  const t0 = performance.now();
  const r = await completeIds(engine, prompt, { ...GREEDY, samplers: [...GREEDY.samplers], max_tokens: nNew, ignore_eos: true, cache_prompt: false });
  const wallMs = performance.now() - t0;
  if (!r.timings) throw new EngineStateError('wllama returned no timings with the completion');
  return { timings: r.timings, wallMs, generated: r.usage.completion_tokens };
}

/** Unloads the models (all, or those loaded from `modelUrl`) and stops their wllama workers. */
export async function wllamaExitAll(modelUrl?: string): Promise<void> {
  const picked = [...engines.entries()].filter(([key]) => modelUrl === undefined || key.endsWith(`|${modelUrl}`));
  for (const [key] of picked) engines.delete(key);
  for (const e of await Promise.allSettled(picked.map(([, e]) => e))) {
    if (e.status === 'fulfilled') await e.value.wllama.exit();
  }
}
