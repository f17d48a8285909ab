/**
 * What runs after the body to pick a step's token: the family graph's head (output norm, logits, argmax), with the
 * log-prob record before and after the pick (gpu-logprobs.ts), the grammar mask right before it (token-mask.ts), and
 * the GPU sampler's draw in place of the argmax (gpu-sampler.ts). All made at load; a request only chooses which.
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
import { GpuSampler } from './gpu-sampler.ts';
import { GpuLogprobs } from './gpu-logprobs.ts';
import { TokenMask } from './token-mask.ts';

/** How a step's logits head picks its token, and what it records (runtime/gpu-sampler.ts, gpu-logprobs.ts, token-mask.ts). */
export interface HeadOptions {
  /** Draw with the GPU sampler (`sampler.begin` first) instead of the argmax. */
  draw?: boolean;
  /** Record log-probs with this many alternatives (0..20). */
  logprobs?: number;
  /** Allowed tokens (a `maskBits` bitset), applied before the pick. */
  mask?: Uint32Array<ArrayBuffer>;
}

export class LogitsHead {
  private constructor(
    /** The family graph's head; its last dispatch is the argmax. */
    private readonly graphHead: Dispatch[],
    /** Draws sampled tokens: `sampler.begin` per request, then `draw` in the head options. */
    readonly sampler: GpuSampler,
    readonly logprobs: GpuLogprobs,
    private readonly mask: TokenMask,
  ) {}

  /**
   * The graph's `head` dispatches awaited with the sampler's, log-probs' and mask's pipelines (compiled concurrently).
   * `logits` and `tokenOut` are the activations the head writes; `own` keeps the buffers for destroy.
   */
  static async create(
    k: Kernels, head: Promise<Dispatch>[], a: { logits: GPUBuffer; tokenOut: GPUBuffer }, vocab: number, own: (b: GPUBuffer) => GPUBuffer,
  ): Promise<LogitsHead> {
    const [list, sampler, logprobs, mask] = await Promise.all([
      Promise.all(head),
      GpuSampler.create(k, a.logits, a.tokenOut, vocab, own),
      GpuLogprobs.create(k, a.logits, a.tokenOut, vocab, own),
      TokenMask.create(k, a.logits, vocab, own),
    ]);
    return new LogitsHead(list, sampler, logprobs, mask);
  }

  /** Most dispatches `dispatches` returns (the graph's head, the two log-prob records and the mask). */
  get maxDispatches(): number {
    return this.graphHead.length + 3;
  }

  /**
   * The head's dispatches for `h`. The graph's head ends in its argmax; log-probs are recorded from the raw logits
   * before the pick, the mask applied right before it, and sampled requests end in the draw instead of the argmax.
   * `bodyHead`: after a decode list that already ends in the logits and their argmax (the layer kernel, BodyLists
   * decodeHead), what is left of the head; the argmax then runs again only on masked logits.
   */
  dispatches(h: HeadOptions, bodyHead?: Dispatch[]): Dispatch[] {
    const lp = h.logprobs !== undefined;
    const argmax = this.graphHead[this.graphHead.length - 1];
    const pick = h.draw ? this.sampler.dispatch : bodyHead && !h.mask ? undefined : argmax;
    return [
      ...(bodyHead ?? this.graphHead.slice(0, -1)),
      ...(lp ? [this.logprobs.stats] : []),
      ...(h.mask ? [this.mask.dispatch] : []),
      ...(pick ? [pick] : []),
      ...(lp ? [this.logprobs.chosen] : []),
    ];
  }

  /** Uploads `h`'s mask, if any, for the next submission. */
  prepare(h: HeadOptions): void {
    if (h.mask) this.mask.upload(h.mask);
  }
}
