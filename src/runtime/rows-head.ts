/**
 * The buffers and readback of the logits head over every row of a chunk, for what needs a prediction at each
 * position: perplexity (evaluate.ts) and the verification of draft tokens (speculative.ts). The decode head
 * normalises and projects only the last row; the family graph's `rows` head (layers.ts rowsHead) normalises all n
 * rows, projects them with the tiled matmul into [n, vocab] logits and takes one argmax per row; this class copies
 * the n ids (and, when asked, the logits) out.
 *
 * Its logits buffer holds `rows` rows, sized so it stays under ROWS_HEAD_BYTES however large the vocabulary; a
 * caller feeds at most `rows` tokens per call. Built on first use (evaluate or speculation), not at load, so models
 * that never need it pay neither the memory nor the pipeline compiles.
 */
import type { Dispatch } from '../gpu/kernels.ts';
import type { RowsOut } from './layers.ts';

/** Upper bound on the per-row logits buffer (and again on its mappable copy). */
const ROWS_HEAD_BYTES = 32 * 2 ** 20;

export class RowsHead {
  /** Most dispatches a graph's rows head may have (the profiler is sized with it). */
  static readonly maxDispatches = 4;
  private readonly owned: GPUBuffer[] = [];

  private constructor(
    /** Most tokens one call may score. */
    readonly rows: number,
    readonly list: Dispatch[],
    private readonly vocab: number,
    private readonly ids: GPUBuffer,
    private readonly logits: GPUBuffer,
    private readonly idsRead: GPUBuffer,
    private readonly logitsRead: GPUBuffer,
  ) {
    this.owned.push(ids, logits, idsRead, logitsRead);
  }

  static async create(d: GPUDevice, o: { vocab: number; maxBatch: number; build: (out: RowsOut) => Promise<Dispatch>[] }): Promise<RowsHead> {
    const rowBytes = o.vocab * 4;
    const rows = Math.max(1, Math.min(o.maxBatch, Math.floor(ROWS_HEAD_BYTES / rowBytes)));
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const ids = d.createBuffer({ label: 'rows.ids', size: Math.max(16, rows * 4), usage: storage });
    const logits = d.createBuffer({ label: 'rows.logits', size: rows * rowBytes, usage: storage });
    const idsRead = d.createBuffer({ label: 'rows.ids.read', size: ids.size, usage: read });
    const logitsRead = d.createBuffer({ label: 'rows.logits.read', size: logits.size, usage: read });
    const list = await Promise.all(o.build({ logits, ids }));
    if (list.length > RowsHead.maxDispatches) throw new Error(`a rows head of ${list.length} dispatches: raise RowsHead.maxDispatches`);
    return new RowsHead(rows, list, o.vocab, ids, logits, idsRead, logitsRead);
  }

  /** Copies the step's n ids (and logits) into the mappable buffers; encode after `list`. */
  encodeCopies(enc: GPUCommandEncoder, n: number, wantLogits: boolean): void {
    enc.copyBufferToBuffer(this.ids, 0, this.idsRead, 0, n * 4);
    if (wantLogits) enc.copyBufferToBuffer(this.logits, 0, this.logitsRead, 0, n * this.vocab * 4);
  }

  /** The n argmax ids, and the [n, vocab] logits when they were copied. */
  async read(n: number, wantLogits: boolean): Promise<{ tokens: Uint32Array; logits?: Float32Array }> {
    const maps = [this.idsRead.mapAsync(GPUMapMode.READ, 0, n * 4)];
    if (wantLogits) maps.push(this.logitsRead.mapAsync(GPUMapMode.READ, 0, n * this.vocab * 4));
    await Promise.all(maps);
    const tokens = new Uint32Array(this.idsRead.getMappedRange(0, n * 4).slice(0));
    this.idsRead.unmap();
    let logits: Float32Array | undefined;
    if (wantLogits) {
      logits = new Float32Array(this.logitsRead.getMappedRange(0, n * this.vocab * 4).slice(0));
      this.logitsRead.unmap();
    }
    return { tokens, logits };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}
