/**
 * A request's output as the request loop (runtime/request-loop.ts) hands it tokens one by one: EOS, the grammar,
 * stop strings and chunks decide where it ends, at the exact token, however many tokens a submission made.
 */
import { StreamDecoder } from '../tokenizer/stream-decoder.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { Sampler } from './sampler.ts';
import { firstStop } from './generation-helpers.ts';
import { EngineStateError } from '../errors.ts';
import type { GenerationChunk, GenerationResult, TokenLogprob } from './engine-types.ts';

/** What constrained decoding needs of a grammar (constrain/json-constraint.ts, constrain/citation-markers.ts). */
export interface Constraint {
  /** The output may end here (EOS allowed). */
  readonly complete: boolean;
  /** Nothing more may follow: stop now. */
  readonly finished: boolean;
  /** Fewest tokens that can still complete the output. */
  readonly minRemaining: number;
  /** Allowed tokens (1) when at most `budget` tokens, this one included, may still come. */
  mask(budget: number): Uint8Array;
  accept(id: number): boolean;
}

export interface OutputOptions {
  eos: ReadonlySet<number>;
  constraint?: Constraint;
  stops: string[];
  /** Counts each token for the CPU sampler's penalties (and the GPU sampler's forced tokens). */
  sampler: Sampler;
  logprobs: boolean;
  onChunk?: (c: GenerationChunk) => void;
}

export class TokenOutput {
  readonly tokens: number[] = [];
  readonly logprobs?: TokenLogprob[];
  text = '';
  finishReason: GenerationResult['finishReason'] = 'length';
  /** performance.now() when the first token was taken (0: none yet). */
  tFirst = 0;
  private readonly decoder: StreamDecoder;

  constructor(tok: Tokenizer, private readonly o: OutputOptions) {
    this.decoder = new StreamDecoder(tok);
    if (o.logprobs) this.logprobs = [];
  }

  /** Takes one token made by the model: false when generation ends with it (EOS, stop string). */
  take(next: number, lp?: TokenLogprob): boolean {
    const { constraint, stops, onChunk } = this.o;
    if (this.tokens.length === 0) this.tFirst = performance.now();
    if (this.o.eos.has(next) && (!constraint || constraint.complete)) {
      this.finishReason = 'stop';
      return false;
    }
    if (constraint && !constraint.accept(next)) throw new EngineStateError(`The grammar rejected token ${next} that its own mask allowed; please report this.`);
    this.o.sampler.accept(next);
    this.tokens.push(next);
    if (lp) this.logprobs?.push(lp);
    let piece = this.decoder.push(next);
    const index = this.tokens.length - 1;
    if (stops.length) {
      const joined = this.text + piece;
      const hit = firstStop(joined, stops);
      if (hit >= 0) {
        piece = joined.slice(this.text.length, hit);
        this.text = joined.slice(0, hit);
        if (piece) onChunk?.({ text: piece, token: next, index, logprob: lp });
        this.finishReason = 'stop';
        return false;
      }
    }
    this.text += piece;
    onChunk?.({ text: piece, token: next, index, logprob: lp });
    return true;
  }

  /** Ends the output: the decoder's held-back bytes, unless it stopped (EOS, stop string) outside JSON mode. */
  finish(json: boolean): void {
    if (this.finishReason === 'stop' && !json) return;
    const tail = this.decoder.flush();
    if (tail) {
      this.text += tail;
      this.o.onChunk?.({ text: tail, token: this.tokens[this.tokens.length - 1], index: this.tokens.length - 1 });
    }
  }
}
