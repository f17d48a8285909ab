/**
 * A grammar's token mask on the GPU (shaders/token_mask.wgsl): constrained requests (JSON, citation markers) upload
 * the allowed set as a bitset (vocab / 8 bytes) and the argmax or the GPU sampler picks among it, so the host reads
 * the token id only, never the logits.
 */
import type { Dispatch, Kernels } from '../gpu/kernels.ts';

export class TokenMask {
  private constructor(private readonly device: GPUDevice, private readonly bits: GPUBuffer, readonly dispatch: Dispatch) {}

  static async create(k: Kernels, logits: GPUBuffer, vocab: number, own: (b: GPUBuffer) => GPUBuffer): Promise<TokenMask> {
    const bits = own(k.device.createBuffer({ label: 'mask.bits', size: Math.ceil(vocab / 32) * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }));
    const dispatch = await k.make('token_mask', {
      label: 'mask', params: new Uint32Array([vocab, 0xff800000, 0, 0]).buffer, buffers: { 2: logits, 3: bits }, grid: () => [Math.ceil(vocab / 64), 1, 1],
    });
    return new TokenMask(k.device, bits, dispatch);
  }

  /** The mask the next pick applies (a bitset from `maskBits`). */
  upload(bits: Uint32Array<ArrayBuffer>): void {
    this.device.queue.writeBuffer(this.bits, 0, bits);
  }
}

/** A 0/1 mask as the kernel's bitset, with how many tokens it allows and the lowest allowed id (-1: none). */
export function maskBits(mask: Uint8Array): { bits: Uint32Array<ArrayBuffer>; allowed: number; first: number } {
  const bits = new Uint32Array(Math.ceil(mask.length / 32));
  let allowed = 0;
  let first = -1;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    bits[i >> 5] |= 1 << (i & 31);
    allowed++;
    if (first < 0) first = i;
  }
  return { bits, allowed, first };
}
