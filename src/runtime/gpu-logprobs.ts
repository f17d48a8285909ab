/**
 * Log-probs on the GPU (shaders/logprobs.wgsl): a request with `logprobs` reads back one small record per token (the
 * softmax's max and Σ exp, the picked token's logit, the 20 largest logits with their ids) instead of the vocab × 4
 * bytes of logits, so it runs several steps per submission like any other request. The head runs `stats` before the
 * pick (mask, argmax or draw may change the logits in place; it keeps a raw copy) and `chosen` after it.
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
import type { TokenLogprob } from './engine-types.ts';

/** Alternatives recorded per token: OpenAI's top_logprobs maximum. */
export const LOGPROB_TOP = 20;
/** Bytes of one token's record (layout in shaders/logprobs.wgsl). */
export const LOGPROB_RECORD_BYTES = (4 + 2 * LOGPROB_TOP) * 4;

export class GpuLogprobs {
  private constructor(
    /** Where the step's record is written (copied out after each step). */
    readonly record: GPUBuffer,
    /** Before the pick: max, Σ exp, the top logits, the raw copy. */
    readonly stats: Dispatch,
    /** After the pick: the picked token and its raw logit. */
    readonly chosen: Dispatch,
  ) {}

  /** Buffers and pipelines, made at load. `token` is where the pick writes its id; `own` keeps buffers for destroy. */
  static async create(k: Kernels, logits: GPUBuffer, token: GPUBuffer, vocab: number, own: (b: GPUBuffer) => GPUBuffer): Promise<GpuLogprobs> {
    const raw = own(k.device.createBuffer({ label: 'logprobs.raw', size: vocab * 4, usage: GPUBufferUsage.STORAGE }));
    const record = own(k.device.createBuffer({ label: 'logprobs.record', size: LOGPROB_RECORD_BYTES, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }));
    const params = new Uint32Array([vocab, LOGPROB_TOP, 0, 0]).buffer;
    const [stats, chosen] = await Promise.all([
      k.make('logprobs', {
        label: 'logprobs', params, constants: { WG: k.tuning.argmaxWG }, lengths: { VOCAB: vocab }, buffers: { 2: logits, 3: raw, 4: record }, grid: () => [1, 1, 1],
      }),
      k.make('logprobs', { label: 'logprobs.chosen', defines: ['CHOSEN'], params, lengths: { VOCAB: vocab }, buffers: { 3: raw, 4: record, 5: token }, grid: () => [1, 1, 1] }),
    ]);
    return new GpuLogprobs(record, stats, chosen);
  }
}

/**
 * One token's record (LOGPROB_RECORD_BYTES from `offset` of `bytes`) as the API's shape, with the `top` most likely
 * alternatives of a `vocab`-token model, most likely first (ties: lower id first, as util/top-k.ts topKIndices). Log-probs
 * are taken in f64 from f32 logits and the GPU's f32 Σ exp: they differ from the CPU's logSoftmax by the rounding of
 * that sum (at most 1.8e-7 nats in multi-step.gpu.test.ts with Kahan sums, 6.6e-7 without; the tests allow 1e-4).
 */
export function decodeLogprob(bytes: ArrayBuffer, offset: number, top: number, vocab: number): TokenLogprob {
  const u = new Uint32Array(bytes, offset, LOGPROB_RECORD_BYTES / 4);
  const f = new Float32Array(bytes, offset, LOGPROB_RECORD_BYTES / 4);
  const lse = f[0] + Math.log(f[1]);
  const alts: { token: number; logprob: number }[] = [];
  for (let j = 0; j < Math.min(LOGPROB_TOP, vocab); j++) alts.push({ token: u[4 + 2 * j], logprob: f[5 + 2 * j] - lse });
  alts.sort((a, b) => b.logprob - a.logprob || a.token - b.token);
  return { token: u[3], logprob: f[2] - lse, top: alts.slice(0, top) };
}
