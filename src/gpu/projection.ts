/**
 * Fused projections: several projections of the same input (q, k, v; gate, up) as one weight whose rows are theirs
 * concatenated, so one matvec/matmul dispatch computes them all (kernels.ts `split` / `glu`). Row concatenation of
 * row-major blocks is exact for every weight format: each row's blocks, and so each output value, are unchanged.
 * `parts` keeps every projection's row range (for per-projection work such as LoRA). Files that ship projections
 * already fused (Phi-3 `attn_qkv`, `ffn_up` = [gate; up]; nomic-bert `attn_qkv`) need no copy: describe their
 * rows as a Projection directly (`projectionOf`).
 */
import { blockShape } from '../formats/weight-formats.ts';
import type { GpuWeight, Projection, WeightStore } from './weights.ts';

export type { Projection, ProjectionPart } from './weights.ts';

/** A pre-fused tensor described by its parts' row counts, in order. */
export function projectionOf(w: GpuWeight, parts: { name: string; rows: number }[]): Projection {
  let row0 = 0;
  const out = parts.map((p) => ({ name: p.name, rows: p.rows, row0: (row0 += p.rows) - p.rows }));
  if (row0 !== w.rows) throw new Error(`${w.name}: parts of ${row0} rows do not cover its ${w.rows} rows`);
  return { w, parts: out };
}

/** Bytes of the data array (and of the scales array) that `rows` rows of w take on the GPU. */
function partBytes(w: GpuWeight, rows: number): { data: number; scales: number } {
  const { elems, bytes } = blockShape(w.format);
  const blocks = (rows * w.cols) / elems;
  return w.scales ? { data: blocks * (bytes - 2), scales: blocks * 2 } : { data: blocks * bytes, scales: 0 };
}

/**
 * Whether b's rows can follow a's in one weight: same format and row length, every copy offset a whole u32 word
 * (a split-out f16 scale array of an odd block count would leave the next part on a half word), and the result
 * within one storage binding.
 */
function canAppend(group: GpuWeight[], b: GpuWeight, maxBinding: number): boolean {
  const a = group[group.length - 1];
  const pa = partBytes(a, a.rows);
  const total = partBytes(b, group.reduce((n, w) => n + w.rows, b.rows));
  return a.format.id === b.format.id && a.cols === b.cols && pa.data % 4 === 0 && pa.scales % 4 === 0 &&
    total.data <= maxBinding;
}

function concatRows(device: GPUDevice, ws: GpuWeight[]): GpuWeight {
  const rows = ws.reduce((n, w) => n + w.rows, 0);
  const total = partBytes(ws[0], rows);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const name = ws.map((w) => w.name).join('+');
  const pad = (n: number) => Math.max(4, Math.ceil(n / 4) * 4);
  const data = device.createBuffer({ label: `${name}.q`, size: pad(total.data), usage });
  const scales = ws[0].scales ? device.createBuffer({ label: `${name}.scales`, size: pad(total.scales), usage }) : undefined;
  const enc = device.createCommandEncoder({ label: `fuse ${name}` });
  let d = 0;
  let s = 0;
  for (const w of ws) {
    const b = partBytes(w, w.rows);
    enc.copyBufferToBuffer(w.data, 0, data, d, b.data);
    // Only the last part's scales may end on a half word (canAppend); its buffer is padded to a word.
    if (scales && w.scales) enc.copyBufferToBuffer(w.scales, 0, scales, s, Math.ceil(b.scales / 4) * 4);
    d += b.data;
    s += b.scales;
  }
  device.queue.submit([enc.finish()]);
  // Destroyed buffers are freed once the submitted copies are done.
  for (const w of ws) {
    w.data.destroy();
    w.scales?.destroy();
  }
  return { name, format: ws[0].format, rows, cols: ws[0].cols, data, scales, bytes: data.size + (scales?.size ?? 0) };
}

/**
 * The named matrices as few projections as their formats allow: each run of neighbours that can share a weight
 * (canAppend) becomes one (the parts' GPU buffers are freed and their names leave the store), any other stays alone
 * (e.g. Q4_K_M's Q6_K attn_v next to Q4_K attn_q/attn_k: two projections). Memoized per name list, so rebuilding
 * a graph on the same store gets the same weights.
 */
export function fuseRows(store: WeightStore, names: string[]): Projection[] {
  const key = names.join('|');
  const known = store.fused.get(key);
  if (known) return known;
  const ws = names.map((n) => store.matrix(n));
  const groups: GpuWeight[][] = [];
  for (const w of ws) {
    const last = groups[groups.length - 1];
    if (last && canAppend(last, w, store.maxBinding)) last.push(w);
    else groups.push([w]);
  }
  const out = groups.map((g) => {
    const proj = projectionOf(g.length === 1 ? g[0] : concatRows(store.device, g), g.map((w) => ({ name: w.name, rows: w.rows })));
    if (g.length > 1) {
      for (const w of g) store.matrices.delete(w.name);
      store.matrices.set(proj.w.name, proj.w);
    }
    return proj;
  });
  store.fused.set(key, out);
  return out;
}

/** The named f32 vectors (biases) back to back in one buffer, for a fused projection's HAS_BIAS (memoized). */
export function fuseVectors(store: WeightStore, names: string[]): GPUBuffer {
  if (names.length === 1) return store.vector(names[0]);
  const key = names.join('+');
  const known = store.vectors.get(key);
  if (known) return known.buffer;
  const parts = names.map((n) => {
    store.vector(n); // throws the store's error for a missing tensor
    return store.vectors.get(n)!.values;
  });
  const values = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (values.set(p, o), o + p.length), 0);
  return store.addVector(key, values);
}
