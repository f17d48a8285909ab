/**
 * One generate request's work on the model, once EngineCore has checked it, decided how it picks and reused what the
 * KV cache holds: the rest of the prompt in `maxBatch` chunks (abortable between them), then one submission after
 * another until a stop. A submission feeds its tokens and, past the prompt, makes several tokens on the GPU
 * (`decodeBatch`), or speculates, or (constrained, or `cpuPick`) makes one; its tokens go one by one to TokenOutput,
 * which ends generation at the exact token (EOS, a stop string, the grammar). Only the K/V rows of kept tokens count,
 * which rolls the position back after a stop.
 */
import { MAX_STEPS, type Transformer } from './transformer.ts';
import type { HeadOptions } from './logits-head.ts';
import type { Constraint, TokenOutput } from './token-output.ts';
import { maskBits } from './token-mask.ts';
import { jumpForward } from './jump-forward.ts';
import type { Sampler } from './sampler.ts';
import type { Speculator } from './speculative.ts';
import { decodeBatch, tokenLogprob } from './generation-helpers.ts';
import type { TokenLogprob } from './engine-types.ts';

const now = () => performance.now();

/** One request as EngineCore.run has prepared it. */
export interface PreparedRequest {
  transformer: Transformer;
  /** The prompt's token ids. */
  ids: readonly number[];
  out: TokenOutput;
  sampler: Sampler;
  constraint?: Constraint;
  /** The most tokens this request may make (maxTokens, within the context). */
  budget: number;
  /** `logprobs`: alternatives per token (undefined: no log-probs). */
  nTop?: number;
  /** Picks are made on the GPU (argmax, or sample.wgsl); false: logits are read back and `sampler` picks. */
  gpuPick: boolean;
  /** Picks are drawn by the GPU sampler, which must also book the tokens a grammar forces. */
  gpuSampled: boolean;
  head: HeadOptions;
  spec?: Speculator;
  signal?: AbortSignal;
  /** The tokens whose K/V rows are valid at positions 0..n-1 (EngineCore's live cache), extended in place. */
  cached: number[];
  /** Throws if the device was lost. */
  checkLost(): void;
  /** Called after the first submission, when every prompt row is in the KV cache. */
  promptDone(): void;
}

/**
 * Runs the request from `cached.length`, the first prompt position not in the cache. Returns the host time spent
 * between GPU steps (measured around decodeSteps only: forward() mixes host work and GPU waits).
 */
export async function runRequest(r: PreparedRequest): Promise<{ hostMs: number }> {
  const { transformer, ids, out, sampler, constraint, budget, nTop, gpuPick, gpuSampled, head, spec, signal, cached } = r;
  let pos = cached.length;
  const B = transformer.options.maxBatch;

  // Prefill in maxBatch chunks, checking for abort between them.
  let feed = ids.slice(pos);
  while (feed.length > B) {
    if (signal?.aborted) {
      out.finishReason = 'abort';
      return { hostMs: 0 };
    }
    r.checkLost();
    await transformer.fill(feed.slice(0, B), pos);
    cached.push(...feed.slice(0, B));
    pos += B;
    feed = feed.slice(B);
  }

  const multiStep = transformer.multiStep;
  // Constrained picks see one token per submission (the grammar needs it); `mask` is the next pick's allowed set.
  let mask: ReturnType<typeof maskBits> | undefined;
  const jump = constraint && gpuPick && multiStep && nTop === undefined;
  let hostMs = 0;
  while (out.tokens.length < budget) {
    if (signal?.aborted) {
      out.finishReason = 'abort';
      break;
    }
    if (constraint?.finished) {
      out.finishReason = 'stop';
      break;
    }
    r.checkLost();
    const tHost = now();
    if (constraint && gpuPick && (mask ??= maskBits(constraint.mask(budget - out.tokens.length))).allowed === 0) break; // nothing fits: 'length'
    // One submission: the tokens to feed, then (past the prompt) more steps that each feed the pick of the one
    // before on the GPU; the loop below keeps the tokens up to the first that ends generation.
    let made: number[];
    let lps: TokenLogprob[] | undefined;
    let logits: Float32Array | undefined;
    const h = { ...head, mask: mask?.bits };
    mask = undefined;
    if (spec && feed.length === 1 && out.tokens.length > 0) {
      // Speculative (from the second token on: the first comes from the prompt's own step, so a seeded request
      // draws the same first token whatever the cache held). `made` is the accepted drafts and the model's own
      // token; the fed token and the drafts are in the KV cache, as after a multi-step batch.
      made = await spec.step([...ids, ...out.tokens], pos, budget - out.tokens.length);
    } else if (gpuPick && multiStep && (feed.length === 1 || out.tokens.length > 0)) {
      const n = constraint ? feed.length : decodeBatch(out.tokens.length, budget - out.tokens.length);
      const steps = transformer.decodeSteps(feed, pos, n, h);
      hostMs += now() - tHost; // encoding and submitting, until the readback is awaited
      ({ tokens: made, logprobs: lps } = await steps);
      if (signal?.aborted) {
        out.finishReason = 'abort'; // what the aborted submission made is dropped
        break;
      }
    } else {
      const f = await transformer.forward(feed, pos, !gpuPick, h);
      made = [f.token];
      logits = f.logits;
      lps = f.logprob && [f.logprob];
    }
    if (out.tokens.length === 0) r.promptDone();
    const tTake = now();
    let used = 0;
    let going = true;
    while (going && used < made.length) {
      let next = made[used++];
      let lp = lps?.[used - 1];
      if (logits) {
        next = sampler.sample(logits, constraint?.mask(budget - out.tokens.length));
        if (next < 0) {
          going = false; // nothing can finish the JSON in the tokens left: 'length'
          break;
        }
        if (nTop !== undefined) lp = tokenLogprob(logits, next, nTop);
        made[0] = next; // the token fed next is the one chosen here, not the GPU's argmax
      }
      going = out.take(next, lp);
    }
    // The K/V rows of the fed tokens and of every kept token but the last are valid; rows past them (work done
    // after a stop) are not counted, which rolls the position back.
    cached.push(...feed, ...made.slice(0, used - 1));
    pos += feed.length + used - 1;
    feed = [made[used - 1]];
    if (going && jump) {
      const sampling = transformer.sampler;
      const forced = jumpForward(constraint, () => budget - out.tokens.length, (id) => out.take(id), MAX_STEPS - 1, (id) => {
        if (gpuSampled) sampling.forced(id, sampler.count(id), out.tokens.length);
      });
      feed.push(...forced.tokens);
      ({ mask, going } = forced);
    }
    if (multiStep) hostMs += now() - tTake;
    if (!going) break;
  }
  if (constraint?.finished && out.finishReason === 'length') out.finishReason = 'stop';
  return { hostMs };
}
