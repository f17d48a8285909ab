/**
 * Sampling on the GPU (shaders/sample.wgsl): the logits head ends in a draw instead of an argmax, so a sampled
 * request reads back token ids only and runs several steps per submission like greedy decoding; so does a greedy
 * request with a logit bias or penalties (temperature 0: the argmax of the adjusted logits). Per request `begin`
 * writes the options, the prompt's tokens (repetition penalty), the logit bias and the seed; the kernel keeps the
 * counts of generated tokens and the draw counter on the GPU. A JSON mask is applied before the draw
 * (runtime/token-mask.ts) and log-probs recorded from the raw logits (runtime/gpu-logprobs.ts).
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';
import { adjustsLogits, isGreedy, type SamplingOptions } from './sampler.ts';

export class GpuSampler {
  private constructor(
    private readonly device: GPUDevice,
    private readonly vocab: number,
    private readonly options: GPUBuffer,
    private readonly state: GPUBuffer,
    private readonly bias: GPUBuffer,
    /** The draw: replaces the argmax at the end of the logits head. */
    readonly dispatch: Dispatch,
  ) {}

  /** Buffers and pipeline, made at load (nothing is created per request). `own` keeps the buffers for destroy. */
  static async create(k: Kernels, logits: GPUBuffer, result: GPUBuffer, vocab: number, own: (b: GPUBuffer) => GPUBuffer): Promise<GpuSampler> {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const options = own(k.device.createBuffer({ label: 'sample.options', size: 32, usage }));
    const state = own(k.device.createBuffer({ label: 'sample.state', size: (vocab + 1) * 4, usage }));
    const bias = own(k.device.createBuffer({ label: 'sample.bias', size: vocab * 4, usage }));
    const dispatch = await k.make('sample', {
      label: 'sample', params: new Uint32Array([vocab, 0, 0, 0]).buffer, constants: { WG: k.tuning.argmaxWG },
      lengths: { VOCAB: vocab, STATE_LEN: vocab + 1 },
      buffers: { 2: logits, 3: result, 4: options, 5: state, 6: bias }, grid: () => [1, 1, 1],
    });
    return new GpuSampler(k.device, vocab, options, state, bias, dispatch);
  }

  /**
   * Whether a request's tokens are picked here: sampled, or greedy after bias or penalties (the argmax of the adjusted
   * logits; plain greedy takes the head's argmax). JSON masks and logprobs come along (token-mask.ts, gpu-logprobs.ts).
   */
  static onGpu(o: SamplingOptions): boolean {
    return !isGreedy(o) || adjustsLogits(o);
  }

  /**
   * A token a grammar forced without a draw (jump-forward, request-loop.ts): counted as if drawn (`count` times generated
   * so far, seen), and the draw counter set to `draws`, so the next draw is the one a step-by-step run would make.
   */
  forced(id: number, count: number, draws: number): void {
    this.device.queue.writeBuffer(this.state, id * 4, new Uint32Array([(count | 0x80000000) >>> 0]));
    this.device.queue.writeBuffer(this.state, this.vocab * 4, new Uint32Array([draws]));
  }

  /** Sets up one request: options, seed, counts cleared, the prompt's tokens marked seen, the logit bias. */
  begin(o: SamplingOptions, prompt: readonly number[], seed: number): void {
    const opt = new DataView(new ArrayBuffer(32));
    const f = (i: number, v: number) => opt.setFloat32(i * 4, v, true);
    const u = (i: number, v: number) => opt.setUint32(i * 4, v >>> 0, true);
    // The same defaults as runtime/sampler.ts.
    f(0, isGreedy(o) ? 0 : o.temperature ?? 0.8); // 0: the kernel's greedy pick (also for top_k 1)
    u(1, o.topK ?? 40);
    f(2, o.topP ?? 0.95);
    f(3, o.minP ?? 0);
    f(4, o.repetitionPenalty ?? 1);
    f(5, o.frequencyPenalty ?? 0);
    f(6, o.presencePenalty ?? 0);
    u(7, seed);
    this.device.queue.writeBuffer(this.options, 0, opt.buffer);
    const state = new Uint32Array(this.vocab + 1);
    for (const id of prompt) if (id >= 0 && id < this.vocab) state[id] = 0x80000000;
    this.device.queue.writeBuffer(this.state, 0, state);
    const bias = new Float32Array(this.vocab);
    for (const [k, v] of Object.entries(o.logitBias ?? {})) {
      const id = Number(k);
      if (id >= 0 && id < this.vocab) bias[id] += Math.fround(v); // f32 as sampler.ts adjust()
    }
    this.device.queue.writeBuffer(this.bias, 0, bias);
  }
}
