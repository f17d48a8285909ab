/**
 * The draft model of speculative decoding: a second, smaller model with the target's vocabulary, loaded on the same
 * GPU device with its own weights and KV cache (`load(target, { draft })`). As a Drafter it runs k decode steps
 * (greedy, or sampled with the request's settings) from the longest prefix its cache already holds.
 */
import type { Kernels } from '../gpu/kernels.ts';
import { loadModel, type LoadProgress, type LoadedModel } from '../loader/load-model.ts';
import type { LoadSource } from '../loader/source.ts';
import { UnsupportedModelError } from '../errors.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { MAX_STEPS, Transformer } from './transformer.ts';
import { draw, type Dist, type Drafter, type DraftSampling } from './speculative.ts';

/** A second model on the same device: k decode steps on its own KV cache, reusing the prefix it already holds. */
export class DraftModel implements Drafter {
  /** Tokens whose K/V the draft's cache holds at positions 0.. */
  private cached: number[] = [];

  private constructor(
    private readonly model: LoadedModel,
    private readonly t: Transformer,
  ) {}

  /** Loads the draft next to a target with this tokenizer; refuses a draft whose vocabulary differs. */
  static async load(
    kernels: Kernels, source: LoadSource, target: Tokenizer,
    o: { contextLength: number; maxBatch: number; onProgress?: (p: LoadProgress) => void; signal?: AbortSignal },
  ): Promise<DraftModel> {
    const model = await loadModel(kernels.gpu, source, { onProgress: o.onProgress, signal: o.signal });
    const tok = model.tokenizer;
    const same = tok.vocabSize === target.vocabSize && tok.bosId === target.bosId && tok.eosIds.join() === target.eosIds.join() &&
      [0, 1, 2, 100, target.vocabSize >> 1, target.vocabSize - 1].every((id) => id >= target.vocabSize || tok.decode([id]) === target.decode([id]));
    if (!same) {
      model.weights.destroy();
      throw new UnsupportedModelError(
        `The draft model ${model.name} has a different vocabulary (${tok.vocabSize} tokens, BOS ${tok.bosId}, EOS ${tok.eosIds.join('/')}) ` +
          `than the target (${target.vocabSize} tokens, BOS ${target.bosId}, EOS ${target.eosIds.join('/')}); speculative decoding needs the same tokenizer: use a smaller model of the same family.`,
      );
    }
    const contextLength = Math.min(o.contextLength, model.config.contextLength);
    // The target's Kernels: pipelines compiled for it are reused, and the step uniform can be shared because every
    // submission writes it before it is queued.
    const t = await Transformer.create(kernels, model.config, model.weights, { contextLength, maxBatch: o.maxBatch, ropeFactors: model.ropeFactors });
    return new DraftModel(model, t);
  }

  get name(): string {
    return this.model.name;
  }

  /** GPU bytes: weights, and KV cache + activations. */
  get memory(): { weightBytes: number; cacheBytes: number } {
    return { weightBytes: this.model.weights.bytes, cacheBytes: this.t.allocatedBytes };
  }

  destroy(): void {
    this.t.destroy();
    this.model.weights.destroy();
  }

  async propose(history: readonly number[], k: number, sampler?: DraftSampling): Promise<{ tokens: number[]; q?: Dist[] }> {
    let common = 0;
    while (common < this.cached.length && common < history.length - 1 && this.cached[common] === history[common]) common++;
    this.cached = history.slice(0, common);
    let feed = history.slice(common);
    let pos = common;
    const tokens: number[] = [];
    const q: Dist[] = [];
    const ctx = this.t.options.contextLength;
    if (!sampler && this.t.multiStep) {
      // Greedy: the k steps in one submission, each argmax fed to the next on the GPU (Transformer.decodeSteps).
      const last = feed[feed.length - 1];
      if (feed.length > 1) {
        if (pos + feed.length > ctx) return { tokens };
        await this.t.fill(feed.slice(0, -1), pos);
        this.cached.push(...feed.slice(0, -1));
        pos += feed.length - 1;
      }
      const n = Math.min(k, MAX_STEPS, ctx - pos);
      if (n < 1) return { tokens };
      const made = (await this.t.decodeSteps([last], pos, n)).tokens;
      this.cached.push(last, ...made.slice(0, -1));
      return { tokens: made };
    }
    while (tokens.length < k && pos + feed.length <= ctx) {
      const r = await this.t.forward(feed, pos, sampler !== undefined);
      this.cached.push(...feed);
      pos += feed.length;
      let d = r.token;
      if (sampler) {
        const dist = sampler.dist(r.logits!);
        d = draw(dist, sampler.random());
        q.push(dist);
      }
      tokens.push(d);
      feed = [d];
    }
    return sampler ? { tokens, q } : { tokens };
  }
}

