/**
 * Token choice from logits. The pipeline, in order (each step is skipped at its neutral value):
 *   logit bias → repetition penalty (HF: divide positive / multiply negative logits of seen tokens) →
 *   frequency and presence penalties (OpenAI: subtract count·f and [count>0]·p) → grammar mask →
 *   greedy argmax, or temperature → top-k → top-p → min-p → draw from a seeded PRNG.
 * A seed reproduces a completion exactly. The engine picks on the GPU (the head's argmax, shaders/sample.wgsl for the
 * rest, the same pipeline); `sample` runs only with LoadOptions.debug.cpuPick, and the tests compare the two.
 */
import { mulberry32 } from '../util/random.ts';
import { topKIndices } from '../util/top-k.ts';

export interface SamplingOptions {
  /** 0 = greedy. Default 0.8 (llama.cpp's default). */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. Default 40. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 = off. Default 0.95. */
  topP?: number;
  /** Drop tokens whose probability is below minP × the top token's; 0 = off (default). */
  minP?: number;
  /** > 1 discourages tokens already in the prompt or completion (HF's definition); 1 = off (default). */
  repetitionPenalty?: number;
  /** Subtracted from a token's logit once per time it was generated (OpenAI's definition); 0 = off. */
  frequencyPenalty?: number;
  /** Subtracted from a token's logit if it was generated at all (OpenAI's definition); 0 = off. */
  presencePenalty?: number;
  /** Added to the logits of these token ids (-100 bans a token, +100 all but forces it). */
  logitBias?: Record<number, number>;
  /** PRNG seed; random when omitted. */
  seed?: number;
}

/** Whether the pick is the largest (adjusted) logit: temperature 0 or top-k 1. */
export function isGreedy(o: SamplingOptions): boolean {
  return (o.temperature ?? 0.8) <= 0 || o.topK === 1;
}

/** Whether the logits are changed before choosing (then greedy picks go through sample.wgsl, not the head's argmax). */
export function adjustsLogits(o: SamplingOptions): boolean {
  return (o.repetitionPenalty ?? 1) !== 1 || (o.frequencyPenalty ?? 0) !== 0 || (o.presencePenalty ?? 0) !== 0 ||
    Object.keys(o.logitBias ?? {}).length > 0;
}

export class Sampler {
  private readonly random: () => number;
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
  private readonly o: SamplingOptions;
  /** How often each token appeared in the completion so far. */
  private readonly counts = new Map<number, number>();
  /** Tokens of the prompt and completion (for the repetition penalty). */
  private readonly seen = new Set<number>();

  constructor(o: SamplingOptions = {}) {
    this.o = o;
    this.temperature = o.topK === 1 ? 0 : o.temperature ?? 0.8;
    this.topK = o.topK ?? 40;
    this.topP = o.topP ?? 0.95;
    this.minP = o.minP ?? 0;
    this.random = mulberry32(o.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /** Tokens the repetition penalty should count as seen (the prompt). */
  observePrompt(ids: readonly number[]): void {
    for (const id of ids) this.seen.add(id);
  }

  /** Records a chosen token (penalties count it from the next step on). */
  accept(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.seen.add(id);
  }

  /** Times `id` was generated so far. */
  count(id: number): number {
    return this.counts.get(id) ?? 0;
  }

  /**
   * The logits after bias and penalties (a copy; the input is untouched), in f32 arithmetic step by step as
   * shaders/sample.wgsl does (options rounded to f32, each result rounded), so greedy picks on both agree exactly.
   */
  adjust(logits: Float32Array): Float32Array {
    const out = logits.slice();
    const o = this.o;
    const f = Math.fround;
    if (o.logitBias) {
      const bias = new Map<number, number>();
      for (const [k, v] of Object.entries(o.logitBias)) {
        const id = Number(k);
        if (id >= 0 && id < out.length) bias.set(id, f((bias.get(id) ?? 0) + f(v)));
      }
      for (const [id, v] of bias) out[id] += v;
    }
    const rp = f(o.repetitionPenalty ?? 1);
    if (rp !== 1) for (const id of this.seen) out[id] = out[id] > 0 ? out[id] / rp : out[id] * rp;
    const fp = f(o.frequencyPenalty ?? 0);
    const pp = f(o.presencePenalty ?? 0);
    if (fp !== 0 || pp !== 0) for (const [id, n] of this.counts) out[id] -= f(f(n * fp) + pp);
    return out;
  }

  /** Candidates after temperature, top-k, top-p and min-p, with their renormalised probabilities (most likely first). */
  candidates(logits: Float32Array): { ids: number[]; probs: number[] } {
    const n = logits.length;
    const k = this.topK > 0 ? Math.min(this.topK, n) : n;
    let ids = k < n ? topKIndices(logits, k) : Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
    ids = ids.filter((id) => logits[id] > -Infinity);
    if (ids.length === 0) return { ids: [], probs: [] };
    const t = this.temperature;
    const max = logits[ids[0]];
    let sum = 0;
    const probs = ids.map((id) => {
      const e = Math.exp((logits[id] - max) / t);
      sum += e;
      return e;
    });
    let keep = probs.length;
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      probs[i] /= sum;
      cum += probs[i];
      if (this.topP < 1 && cum >= this.topP) {
        keep = i + 1;
        break;
      }
    }
    // min-p: relative to the most likely token (probs[0]); the top token always survives.
    if (this.minP > 0) {
      const floor = this.minP * probs[0];
      let m = 1;
      while (m < keep && probs[m] >= floor) m++;
      keep = m;
    }
    const kept = probs.slice(0, keep);
    const ks = kept.reduce((a, b) => a + b, 0);
    return { ids: ids.slice(0, keep), probs: kept.map((p) => p / ks) };
  }

  /**
   * Chooses the next token from raw logits. `allowed` (a grammar mask: 1 = allowed) restricts the choice;
   * returns -1 when nothing is allowed. Call `accept` with the result.
   */
  sample(logits: Float32Array, allowed?: Uint8Array): number {
    let x = adjustsLogits(this.o) ? this.adjust(logits) : logits;
    if (allowed) {
      if (x === logits) x = logits.slice();
      for (let i = 0; i < x.length; i++) if (!allowed[i]) x[i] = -Infinity;
    }
    if (this.temperature <= 0) {
      const id = argmax(x);
      return x[id] === -Infinity ? -1 : id;
    }
    const { ids, probs } = this.candidates(x);
    if (ids.length === 0) return -1;
    let r = this.random();
    for (let i = 0; i < ids.length; i++) {
      r -= probs[i];
      if (r < 0) return ids[i];
    }
    return ids[ids.length - 1];
  }
}

export function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** log-softmax of `x` (f64 accumulation). */
export function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  for (const v of x) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - lse;
  return out;
}
