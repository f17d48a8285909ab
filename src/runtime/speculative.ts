/**
 * Speculative decoding: a drafter proposes k tokens, the target model checks them all in one pass over k+1 rows (the
 * prefill path with the per-row head, Transformer.forwardRows), and every accepted token saves a decode step.
 *
 * - Drafters: a smaller model with the same vocabulary (DraftModel: its own KV cache, k greedy or sampled decode
 *   steps) or prompt lookup (PromptLookup: the tokens that followed the latest earlier occurrence of the last n-gram
 *   of prompt + output; no second model).
 * - Greedy: drafts are kept while they equal the target's argmax at the previous row; the argmax at the first
 *   mismatch (or after the last draft) comes for free. The output is the plain greedy output.
 * - Sampled: standard speculative sampling (Leviathan et al. 2023, Chen et al. 2023): draft d_i ~ q_i is kept with
 *   probability min(1, p_i(d)/q_i(d)); on rejection the token is drawn from normalise(max(0, p_i − q_i)); after k
 *   accepted drafts one more from p_{k+1}. Each emitted token is then distributed exactly as under p. q is the
 *   draft model's distribution after the same sampling settings, or a point mass for prompt lookup.
 * - KV rollback is free: K/V rows are indexed by position, so rejected rows are overwritten by the next step
 *   (the caller only advances its position past the accepted tokens).
 * - k adapts: +2 after a fully accepted round, −1 otherwise, within [1, maxDraft] (Hugging Face's heuristic).
 */
import type { Transformer } from './transformer.ts';
import type { Sampler } from './sampler.ts';
import { mulberry32 } from '../util/random.ts';
import { InvalidRequestError } from '../errors.ts';
import type { GenerateOptions, SpeculativeOptions } from './engine-types.ts';

/** A sparse probability distribution (ids with their probabilities, summing to 1). */
export interface Dist {
  ids: number[];
  probs: number[];
}

export interface Drafter {
  /**
   * Up to k tokens that may follow `history` (prompt + output, its last token not yet run by the target). With
   * `sampler`, tokens are drawn and `q` holds each one's distribution (omitted: a point mass on the token).
   */
  propose(history: readonly number[], k: number, sampler?: DraftSampling): Promise<{ tokens: number[]; q?: Dist[] }>;
}

/** How a drafter samples: the target's settings (temperature, top-k/p, min-p) and a PRNG. */
export interface DraftSampling {
  dist(logits: Float32Array): Dist;
  random: () => number;
}

/** Proposes the continuation of the latest earlier occurrence of the history's last n-gram (n = max .. min). */
export class PromptLookup implements Drafter {
  constructor(private readonly ngramMax = 3, private readonly ngramMin = 2) {}

  async propose(history: readonly number[], k: number): Promise<{ tokens: number[] }> {
    const L = history.length;
    for (let n = Math.min(this.ngramMax, L - 1); n >= Math.max(1, this.ngramMin); n--) {
      // Latest start i < L − n where history[i .. i+n) equals the last n tokens.
      for (let i = L - n - 1; i >= 0; i--) {
        let j = 0;
        while (j < n && history[i + j] === history[L - n + j]) j++;
        if (j === n) return { tokens: history.slice(i + n, Math.min(i + n + k, L)) };
      }
    }
    return { tokens: [] };
  }
}

/** Probability of `id` under a sparse distribution. */
function probOf(d: Dist, id: number): number {
  const i = d.ids.indexOf(id);
  return i < 0 ? 0 : d.probs[i];
}

/** Inverse-CDF draw with u in [0, 1). */
export function draw(d: Dist, u: number): number {
  for (let i = 0; i < d.ids.length; i++) {
    u -= d.probs[i];
    if (u < 0) return d.ids[i];
  }
  return d.ids[d.ids.length - 1];
}

/**
 * Speculative sampling's acceptance: `p` has k+1 target distributions (one per verified row), `q` the k draft
 * distributions (undefined: point masses on the drafts). Returns how many drafts are kept and the token after them.
 */
export function acceptSampled(drafts: readonly number[], p: readonly Dist[], q: readonly Dist[] | undefined, random: () => number): { accepted: number; next: number } {
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i];
    const pd = probOf(p[i], d);
    const qd = q ? probOf(q[i], d) : 1;
    if (qd > 0 && random() < Math.min(1, pd / qd)) continue;
    // Rejected: draw from the residual max(0, p − q), renormalised.
    const ids: number[] = [];
    const probs: number[] = [];
    let sum = 0;
    for (let j = 0; j < p[i].ids.length; j++) {
      const id = p[i].ids[j];
      const r = Math.max(0, p[i].probs[j] - (q ? probOf(q[i], id) : id === d ? 1 : 0));
      if (r > 0) {
        ids.push(id);
        probs.push(r);
        sum += r;
      }
    }
    const residual = sum > 0 ? { ids, probs: probs.map((x) => x / sum) } : p[i];
    return { accepted: i, next: draw(residual, random()) };
  }
  return { accepted: drafts.length, next: draw(p[drafts.length], random()) };
}

/** Runs the verify loop for one request; the request loop (request-loop.ts) calls `step` instead of a plain decode step. */
export class Speculator {
  drafted = 0;
  accepted = 0;
  private k: number;
  private readonly maxDraft: number;

  constructor(
    readonly method: 'draft' | 'lookup',
    private readonly target: Transformer,
    private readonly drafter: Drafter,
    o: { maxDraft?: number },
    /** Sampled mode: the request's sampler (its `candidates` give p) and a PRNG; greedy when absent. */
    private readonly sampling?: { sampler: Sampler; random: () => number },
  ) {
    this.maxDraft = Math.max(1, Math.floor(o.maxDraft ?? 8));
    this.k = Math.min(4, this.maxDraft);
  }

  /**
   * One step from `history` (prompt + output; its last token is at position `pos`, not yet run by the target).
   * Returns the tokens to emit, at most `budget`: the accepted drafts, then the model's own token. The target's KV
   * cache then holds the fed token and the accepted drafts (rows of rejected drafts are overwritten later).
   */
  async step(history: readonly number[], pos: number, budget: number): Promise<number[]> {
    const last = history[history.length - 1];
    const ctx = this.target.options.contextLength;
    const cap = await this.target.rowsCapacity();
    const k = Math.min(this.k, budget - 1, ctx - pos - 1, cap - 1);
    const s = this.sampling;
    const dist = s && ((logits: Float32Array) => s.sampler.candidates(logits));
    const draft = k > 0 ? await this.drafter.propose(history, k, dist && { dist, random: s.random }) : { tokens: [] };
    const drafts = draft.tokens.slice(0, Math.max(0, k));
    if (drafts.length === 0) {
      // Nothing to verify: a plain decode step.
      const r = await this.target.forward([last], pos, s !== undefined);
      return [s ? draw(s.sampler.candidates(r.logits!), s.random()) : r.token];
    }
    const r = await this.target.forwardRows([last, ...drafts], pos, s !== undefined);
    let accepted = 0;
    let next: number;
    if (s) {
      const vocab = this.target.config.vocabSize;
      const p = Array.from({ length: drafts.length + 1 }, (_, i) => s.sampler.candidates(r.logits!.subarray(i * vocab, (i + 1) * vocab)));
      ({ accepted, next } = acceptSampled(drafts, p, draft.q?.slice(0, drafts.length), s.random));
    } else {
      while (accepted < drafts.length && drafts[accepted] === r.tokens[accepted]) accepted++;
      next = r.tokens[accepted];
    }
    this.drafted += drafts.length;
    this.accepted += accepted;
    this.k = accepted === drafts.length ? Math.min(this.maxDraft, this.k + 2) : Math.max(1, this.k - 1);
    return [...drafts.slice(0, accepted), next];
  }
}

/**
 * The request's speculative decoder, or undefined to decode plainly: off by default unless a draft model is loaded
 * (`draft`); only for greedy decoding on the GPU argmax (`gpuGreedy`) or plain sampling (`sampledOk`).
 */
export function speculatorFor(
  o: GenerateOptions, target: Transformer, draft: Drafter | undefined, sampler: Sampler, gpuGreedy: boolean, sampledOk: boolean,
): Speculator | undefined {
  const want = o.speculative ?? draft !== undefined;
  if (want === false || (!gpuGreedy && !sampledOk)) return undefined;
  const so: SpeculativeOptions = want === true ? {} : want;
  const method = so.method ?? (draft ? 'draft' : 'lookup');
  if (method === 'draft' && !draft) {
    throw new InvalidRequestError("speculative method 'draft' needs a draft model: load(target, { draft: source }), or use method 'lookup'.");
  }
  const drafter = method === 'draft' ? draft! : new PromptLookup(so.ngramMax, so.ngramMin);
  const sampling = gpuGreedy ? undefined : { sampler, random: mulberry32((o.seed ?? Math.floor(Math.random() * 2 ** 32)) ^ 0x5bd1e995) };
  return new Speculator(method, target, drafter, so, sampling);
}
