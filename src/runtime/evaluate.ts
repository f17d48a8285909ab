/**
 * Perplexity of a text, windowed the way llama.cpp's `perplexity` tool does it (the numbers are comparable):
 * - the text is tokenized with BOS (when the model adds one) and cut into windows of `window` tokens, whose first
 *   token is replaced by BOS;
 * - without `stride`: consecutive windows (0, W, 2W, …, whole windows only), each scoring its second half: the
 *   logits at positions W/2 .. W−2 predict the tokens after them (llama.cpp `perplexity`);
 * - with `stride` S (< W): windows start every S tokens, each scoring its last S predictions: positions W−S−1 .. W−2
 *   (llama.cpp `perplexity_v2`, `--ppl-stride`).
 * Each window runs from an empty KV cache: the unscored head through the KV-only prefill, the scored part through
 * the per-row logits head (rows-head.ts), whose logits come back and are log-softmaxed here in f64.
 */
import { AbortError, InvalidRequestError } from '../errors.ts';
import type { LoraRequest } from './engine-types.ts';

export interface EvaluateOptions {
  /** Tokens per window (llama.cpp `-c`). Default: the engine's context length. */
  window?: number;
  /** Score the last `stride` predictions of windows that start every `stride` tokens (llama.cpp `--ppl-stride`). */
  stride?: number;
  /** Evaluate at most this many windows (llama.cpp `--chunks`). */
  maxWindows?: number;
  /** LoRA adapters to evaluate with (as in generate). */
  lora?: LoraRequest[];
  signal?: AbortSignal;
}

export interface EvaluateResult {
  /** exp(mean negative log-likelihood) over the scored tokens. */
  perplexity: number;
  /** Per scored token, in text order: its negative log-likelihood (natural log) given the tokens before it. */
  nll: number[];
  /** The scored tokens' ids, and their indices in the tokenized text (BOS counted when the model adds one). */
  tokens: number[];
  positions: number[];
  windows: number;
  /** Tokens the model ran (scored or not). */
  tokensRun: number;
  ms: number;
  /** Tokens run per second (the prefill path). */
  tokensPerSec: number;
}

/** One window: its first token index in the text, and the first row whose prediction is scored. */
export interface WindowPlan {
  start: number;
  scoreFrom: number;
}

/** llama.cpp's windows over a text of `nTokens` tokens (see the module comment). */
export function planWindows(nTokens: number, window: number, stride?: number, maxWindows = Infinity): WindowPlan[] {
  if (!Number.isInteger(window) || window < 4) throw new InvalidRequestError(`window must be an integer of at least 4 tokens; got ${window}.`);
  const plans: WindowPlan[] = [];
  if (stride === undefined) {
    for (let start = 0; start + window <= nTokens && plans.length < maxWindows; start += window) plans.push({ start, scoreFrom: window >> 1 });
  } else {
    if (!Number.isInteger(stride) || stride < 1 || stride >= window) {
      throw new InvalidRequestError(`stride must be an integer from 1 to window − 1 (${window - 1}); got ${stride}.`);
    }
    const n = Math.floor((nTokens - window + stride - 1) / stride);
    for (let i = 0; i < n && plans.length < maxWindows; i++) plans.push({ start: i * stride, scoreFrom: window - stride - 1 });
  }
  if (plans.length === 0) {
    throw new InvalidRequestError(
      `The text has ${nTokens} tokens: too few for one window of ${window}${stride ? ` with stride ${stride}` : ''}; give more text or a smaller window.`,
    );
  }
  return plans;
}

/** Negative log-likelihood of `target` under one row of logits (f64 log-softmax). */
export function rowNll(logits: Float32Array, row: number, vocab: number, target: number): number {
  const o = row * vocab;
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[o + i] > max) max = logits[o + i];
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(logits[o + i] - max);
  return -(logits[o + target] - max - Math.log(sum));
}

/** What evaluate needs of the model (a Transformer). */
export interface RowModel {
  fill(tokens: readonly number[], pos0: number): Promise<void>;
  forwardRows(tokens: readonly number[], pos0: number, wantLogits: boolean): Promise<{ logits?: Float32Array }>;
  rowsCapacity(): Promise<number>;
  readonly config: { vocabSize: number };
}

/** Runs the windows of `tokens` (the whole tokenized text) and scores them. */
export async function evaluateTokens(
  model: RowModel, tokens: readonly number[], bosId: number | undefined, o: EvaluateOptions & { window: number },
): Promise<EvaluateResult> {
  const t0 = performance.now();
  const plans = planWindows(tokens.length, o.window, o.stride, o.maxWindows);
  const vocab = model.config.vocabSize;
  const cap = await model.rowsCapacity();
  const nll: number[] = [];
  const scored: number[] = [];
  const positions: number[] = [];
  let tokensRun = 0;
  for (const { start, scoreFrom } of plans) {
    if (o.signal?.aborted) throw new AbortError('evaluate() was aborted.');
    const w = tokens.slice(start, start + o.window);
    if (bosId !== undefined) w[0] = bosId;
    if (scoreFrom > 0) await model.fill(w.slice(0, scoreFrom), 0);
    // The last token predicts past the window: it never runs.
    for (let j0 = scoreFrom; j0 < o.window - 1; j0 += cap) {
      const part = w.slice(j0, Math.min(j0 + cap, o.window - 1));
      const { logits } = await model.forwardRows(part, j0, true);
      for (let r = 0; r < part.length; r++) {
        const j = j0 + r;
        nll.push(rowNll(logits!, r, vocab, w[j + 1]));
        scored.push(w[j + 1]);
        positions.push(start + j + 1);
      }
    }
    tokensRun += o.window - 1;
  }
  const ms = performance.now() - t0;
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  return { perplexity: Math.exp(mean), nll, tokens: scored, positions, windows: plans.length, tokensRun, ms, tokensPerSec: tokensRun / (ms / 1000) };
}
