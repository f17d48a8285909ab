/**
 * Reading a step's result back to the host, through mappable buffers made once at load. Picks (multi-step decode,
 * and any pick that records log-probs) go into one buffer laid out as `steps` token ids, then one log-prob record per
 * pick, so n steps cost one map. A plain `forward` copies the 4-byte token, and the logits only when asked for (the
 * CPU path). Every read is checked (finite-check.ts) before the host sees it.
 */
import { LOGPROB_RECORD_BYTES, decodeLogprob } from './gpu-logprobs.ts';
import type { TokenLogprob } from './engine-types.ts';
import { checkFinite } from './finite-check.ts';

/** The tokens picked by one submission, and their log-probs when asked for. */
export interface Picks {
  tokens: number[];
  logprobs?: TokenLogprob[];
}

/** The GPU buffers a step's results are copied from. */
export interface PickSources {
  /** The pick's token id (one u32). */
  tokenOut: GPUBuffer;
  /** The last row's logits [vocab]. */
  logits: GPUBuffer;
  /** The pick's log-prob record (gpu-logprobs.ts). */
  record: GPUBuffer;
}

export class PickReadback {
  private readonly token: GPUBuffer;
  private readonly logits: GPUBuffer;
  private readonly picks: GPUBuffer;

  constructor(
    device: GPUDevice,
    private readonly from: PickSources,
    /** Most picks one read holds. */
    private readonly steps: number,
    private readonly vocab: number,
    /** Takes a buffer into its owner's destroy. */
    own: (b: GPUBuffer) => GPUBuffer,
  ) {
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.token = own(device.createBuffer({ label: 'token.read', size: 4, usage: read }));
    this.logits = own(device.createBuffer({ label: 'logits.read', size: vocab * 4, usage: read }));
    this.picks = own(device.createBuffer({ label: 'steps.read', size: steps * (4 + LOGPROB_RECORD_BYTES), usage: read }));
  }

  /** Copies pick j's token (and log-prob record) into the readback. */
  copyPick(enc: GPUCommandEncoder, j: number, logprobs: boolean): void {
    enc.copyBufferToBuffer(this.from.tokenOut, 0, this.picks, j * 4, 4);
    if (logprobs) enc.copyBufferToBuffer(this.from.record, 0, this.picks, this.steps * 4 + j * LOGPROB_RECORD_BYTES, LOGPROB_RECORD_BYTES);
  }

  /** Maps the readback once: `n` picked tokens (the first at position `pos`), and their log-prob records when `top` is given. */
  async readPicks(n: number, top: number | undefined, pos: number): Promise<Picks> {
    const bytes = top === undefined ? n * 4 : this.steps * 4 + n * LOGPROB_RECORD_BYTES;
    await this.picks.mapAsync(GPUMapMode.READ, 0, bytes);
    const data = this.picks.getMappedRange(0, bytes).slice(0);
    this.picks.unmap();
    const tokens = Array.from(new Uint32Array(data, 0, n));
    checkFinite(tokens, this.vocab, pos);
    if (top === undefined) return { tokens };
    return { tokens, logprobs: tokens.map((_, j) => decodeLogprob(data, this.steps * 4 + j * LOGPROB_RECORD_BYTES, top, this.vocab)) };
  }

  /** Copies the picked token, and the logits when `withLogits`, for `readToken`. */
  copyToken(enc: GPUCommandEncoder, withLogits: boolean): void {
    enc.copyBufferToBuffer(this.from.tokenOut, 0, this.token, 0, 4);
    if (withLogits) enc.copyBufferToBuffer(this.from.logits, 0, this.logits, 0, this.logits.size);
  }

  /** The token `copyToken` copied (picked at position `pos`), and the logits when `withLogits`. */
  async readToken(withLogits: boolean, pos: number): Promise<{ token: number; logits?: Float32Array }> {
    const reads: Promise<void>[] = [this.token.mapAsync(GPUMapMode.READ)];
    if (withLogits) reads.push(this.logits.mapAsync(GPUMapMode.READ));
    await Promise.all(reads);
    const token = new Uint32Array(this.token.getMappedRange())[0];
    this.token.unmap();
    let logits: Float32Array | undefined;
    if (withLogits) {
      logits = new Float32Array(this.logits.getMappedRange().slice(0));
      this.logits.unmap();
    }
    checkFinite([token], this.vocab, pos, logits);
    return { token, logits };
  }
}
