/**
 * The generation's small pure helpers (runtime/request-loop.ts, engine-core.ts): how many decode steps go in one submission, the
 * first stop string in a text, a token's log-probs, the check of caller-given token ids, and waiting for chunk delivery without outliving an abort.
 */
import { logSoftmax } from './sampler.ts';
import { topKIndices } from '../util/top-k.ts';
import type { TokenLogprob } from './engine-types.ts';
import { InvalidRequestError } from '../errors.ts';

/** Token ids given by the caller must index the embedding table: the GPU would read past it without a word. */
export function checkTokenIds(ids: readonly number[], vocabSize: number, what: string): void {
  const i = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  if (i >= 0) throw new InvalidRequestError(`${what} has token id ${ids[i]} at index ${i}, outside the vocabulary (0 to ${vocabSize - 1}); pass ids from this model's tokenize().`);
}

/** Resolves as `p` settles, or at once when `signal` aborts (then whatever `p` does later is ignored). */
export function settledOrAborted(p: unknown, signal?: AbortSignal): Promise<unknown> {
  if (!signal) return Promise.resolve(p);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const stop = () => resolve(undefined);
    signal.addEventListener('abort', stop, { once: true });
    Promise.resolve(p).then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
  });
}

/**
 * Greedy decode steps per submission once `made` tokens are out and `left` may still come: the count doubles from 1
 * (the first tokens stream at once) up to 16 (one readback per 16 tokens in steady state; a stop found inside a
 * batch wastes at most 15 steps).
 */
export function decodeBatch(made: number, left: number): number {
  return Math.max(1, Math.min(left, 16, 2 ** Math.floor(Math.log2(Math.max(1, made)))));
}

/** Index of the earliest stop string in `text`, or -1. */
export function firstStop(text: string, stops: string[]): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** The chosen token's log-prob and the `n` most likely alternatives. */
export function tokenLogprob(logits: Float32Array, token: number, n: number): TokenLogprob {
  const ls = logSoftmax(logits);
  return { token, logprob: ls[token], top: n > 0 ? topKIndices(ls, n).map((id) => ({ token: id, logprob: ls[id] })) : [] };
}
