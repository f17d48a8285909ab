/**
 * Jump-forward for constrained decoding: after a pick, while the grammar allows exactly one token, that token is
 * taken without a pick of its own, and the forced tokens are fed to the model together with the pick in one
 * submission (Transformer.decodeSteps with several fed tokens, head only after the last).
 *
 * Output stays identical to one pick per token: a mask of one token leaves the argmax or the draw no choice (the GPU
 * sampler's draw counter and counts are set as if it had drawn: GpuSampler.forced), and the forced tokens run
 * through the same decode kernels as single steps, so the logits of every later pick are the same bit for bit. Not
 * done: forcing a multi-token string by re-tokenizing the bytes the grammar forces (llguidance / XGrammar style) —
 * the model might have spelled those bytes with other tokens, so the output could differ; and feeding the forced
 * tokens as a prefill chunk (matmul) — cheaper on the GPU for long runs, but its rounding differs from the decode
 * kernels', which can flip a near-tie later. Requests with logprobs do not jump (a forced token's log-prob needs the
 * head at its position).
 */
import { maskBits } from './token-mask.ts';
import type { Constraint } from './token-output.ts';

export interface Forced {
  /** Tokens taken without a pick, in order. */
  tokens: number[];
  /** The next pick's allowed set, when computed (more than one token, or none). */
  mask?: ReturnType<typeof maskBits>;
  /** false: a forced token ended generation (EOS, stop string). */
  going: boolean;
}

/**
 * Takes forced tokens (at most `max`) through `take` while `left()` tokens may still come and the grammar allows
 * exactly one; `onForced` runs after each one taken.
 */
export function jumpForward(c: Constraint, left: () => number, take: (id: number) => boolean, max: number, onForced: (id: number) => void): Forced {
  const tokens: number[] = [];
  while (tokens.length < max && !c.finished && left() > 0) {
    const mask = maskBits(c.mask(left()));
    if (mask.allowed !== 1) return { tokens, mask, going: true };
    if (!take(mask.first)) return { tokens, going: false };
    tokens.push(mask.first);
    onForced(mask.first);
  }
  return { tokens, going: true };
}
