/**
 * The adapters resident with one model and the choice each request makes (`lora: [{ id, scale }]`).
 * - `add`: checks an adapter against the base (adapter-file.ts `checkAdapter`) and uploads its pairs (lora-buffers.ts).
 * - `select`: per request. The body lists for a set of adapters are built once through the LoRA kernels view
 *   (lora-kernels.ts; bind groups only, the pipelines come from the shared cache) and kept for the next requests
 *   (a few sets, least recently used dropped); scales are a buffer write, so changing them rebuilds nothing.
 *   No adapter: the model's own lists, so an engine without adapters runs exactly as before.
 * - The returned key names adapters and scales: KV computed under one key must not be reused under another
 *   (EngineCore compares it for its live cache and the prefix cache).
 */
import type { Kernels } from '../gpu/kernels.ts';
import type { GpuWeight, WeightStore } from '../gpu/weights.ts';
import type { Transformer } from '../runtime/transformer.ts';
import type { BodyLists } from '../runtime/body-lists.ts';
import { InvalidRequestError, UnsupportedModelError } from '../errors.ts';
import { adapterDigest, checkAdapter, type LoraAdapterData } from './adapter-file.ts';
import { destroyPair, pairBytes, stackPairs, targetOf, uploadPair, writeScales, type GpuLoraPair } from './lora-buffers.ts';
import { loraKernels } from './lora-kernels.ts';
import type { AdapterInfo, LoraRequest } from '../runtime/engine-types.ts';

export type { AdapterInfo, LoraRequest };

interface Resident {
  info: AdapterInfo;
  pairs: Map<string, GpuLoraPair>;
  /** alpha / r per pair. */
  scales: Map<string, number>;
}

interface BuiltSet {
  body: BodyLists;
  /** Per GPU weight: the pair the lists read and which adapters' pairs (base matrix names) it stacks, in order. */
  pairs: Map<string, { pair: GpuLoraPair; parts: { id: string; name: string; rank: number }[] }>;
  /** Buffers owned by this set (stacked pairs, uniforms). */
  owned: GPUBuffer[];
  stacked: GpuLoraPair[];
}

/** Sets of adapters whose lists are kept built. */
const KEEP_SETS = 4;

export class LoraSet {
  private readonly resident = new Map<string, Resident>();
  /** Built lists by the ids they apply (sorted, joined), least recently used first. */
  private readonly sets = new Map<string, BuiltSet>();
  private currentKey = '';

  constructor(
    private readonly k: Kernels,
    private readonly t: Transformer,
    private readonly arch: string,
    private readonly store: WeightStore,
  ) {}

  get bytes(): number {
    return [...this.resident.values()].reduce((a, r) => a + r.info.bytes, 0);
  }

  list(): AdapterInfo[] {
    return [...this.resident.values()].map((r) => ({ ...r.info, tensors: [...r.info.tensors] }));
  }

  has(id: string): boolean {
    return this.resident.has(id);
  }

  /** The pairs of a resident adapter and their alpha / r (for merging). */
  pairsOf(id: string): { pairs: Map<string, GpuLoraPair>; scales: Map<string, number> } {
    const r = this.need(id);
    return { pairs: r.pairs, scales: r.scales };
  }

  markMerged(id: string, scale: number): void {
    this.need(id).info.merged = scale;
  }

  add(id: string, data: LoraAdapterData): AdapterInfo {
    if (!id) throw new InvalidRequestError('An adapter needs a non-empty id.');
    if (this.resident.has(id)) throw new InvalidRequestError(`An adapter with id '${id}' is loaded already; unload it first or pick another id.`);
    checkAdapter(data, this.arch, (name) => {
      const t = targetOf(this.store, name);
      return t && { rows: t.rows, cols: t.w.cols };
    });
    const uRows = this.t.options.maxBatch;
    const pairs = new Map<string, GpuLoraPair>();
    const scales = new Map<string, number>();
    for (const [name, p] of data.pairs) {
      pairs.set(name, uploadPair(this.k.device, name, p, uRows));
      scales.set(name, p.scale);
    }
    const info: AdapterInfo = {
      id, format: data.format, alpha: data.alpha, rank: Math.max(...[...data.pairs.values()].map((p) => p.rank)),
      tensors: [...pairs.keys()], bytes: [...pairs.values()].reduce((a, p) => a + pairBytes(p), 0), sha256: adapterDigest(data),
    };
    this.resident.set(id, { info, pairs, scales });
    return { ...info, tensors: [...info.tensors] };
  }

  remove(id: string): void {
    const r = this.need(id);
    for (const [key, set] of this.sets) if (key.split('\n').includes(id)) this.dropSet(key, set);
    for (const p of r.pairs.values()) destroyPair(p);
    this.resident.delete(id);
  }

  /**
   * Applies the request's adapters from the next step on and returns the key of what is applied ('' when none).
   * Unknown ids, merged adapters, duplicates and non-finite scales are InvalidRequestError.
   */
  async select(req: readonly LoraRequest[] | undefined): Promise<string> {
    const chosen = this.normalize(req);
    if (chosen.length === 0) {
      this.useNone();
      return '';
    }
    const key = chosen.map((c) => `${c.id}\t${c.scale}`).join('\n');
    if (key === this.currentKey) return key;
    const idsKey = chosen.map((c) => c.id).join('\n');
    let set = this.sets.get(idsKey);
    if (set) this.sets.delete(idsKey); // re-inserted below as the most recent
    else set = await this.build(chosen.map((c) => c.id));
    this.sets.set(idsKey, set);
    while (this.sets.size > KEEP_SETS) {
      const [oldKey, old] = this.sets.entries().next().value!;
      this.dropSet(oldKey, old);
    }
    const scaleOf = new Map(chosen.map((c) => [c.id, c.scale]));
    for (const { pair, parts } of set.pairs.values()) {
      writeScales(this.k.device, pair, parts.map((p) => ({ rank: p.rank, scale: scaleOf.get(p.id)! * this.resident.get(p.id)!.scales.get(p.name)! })));
    }
    this.t.useBody(set.body);
    this.currentKey = key;
    return key;
  }

  destroy(): void {
    for (const [key, set] of this.sets) this.dropSet(key, set);
    for (const id of [...this.resident.keys()]) this.remove(id);
  }

  private need(id: string): Resident {
    const r = this.resident.get(id);
    if (!r) {
      const have = [...this.resident.keys()];
      throw new InvalidRequestError(`No adapter '${id}' is loaded (${have.length ? `loaded: ${have.join(', ')}` : 'none is'}); call engine.loadAdapter() first.`);
    }
    return r;
  }

  private normalize(req: readonly LoraRequest[] | undefined): { id: string; scale: number }[] {
    if (req === undefined) return [];
    if (!Array.isArray(req)) throw new InvalidRequestError('lora must be an array of { id, scale }.');
    const seen = new Set<string>();
    const out: { id: string; scale: number }[] = [];
    for (const r of req) {
      if (typeof r?.id !== 'string') throw new InvalidRequestError('Each lora entry needs an id (string).');
      const scale = r.scale ?? 1;
      if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new InvalidRequestError(`lora '${r.id}': scale must be a finite number; got ${String(r.scale)}.`);
      const res = this.need(r.id);
      if (res.info.merged !== undefined) throw new InvalidRequestError(`Adapter '${r.id}' is merged into the base weights already; requests get it without asking.`);
      if (seen.has(r.id)) throw new InvalidRequestError(`lora lists adapter '${r.id}' twice; give it once with the summed scale.`);
      seen.add(r.id);
      if (scale !== 0) out.push({ id: r.id, scale });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private useNone(): void {
    this.t.useBody();
    this.currentKey = '';
  }

  private async build(ids: string[]): Promise<BuiltSet> {
    const uRows = this.t.options.maxBatch;
    // Pairs by the GPU weight their rows live in (a fused q/k/v or gate/up weight takes several).
    const byWeight = new Map<string, { w: GpuWeight; parts: { id: string; name: string; pair: GpuLoraPair; row0: number }[] }>();
    for (const id of ids) {
      for (const [name, pair] of this.resident.get(id)!.pairs) {
        const t = targetOf(this.store, name)!;
        const e = byWeight.get(t.w.name) ?? { w: t.w, parts: [] };
        e.parts.push({ id, name, pair, row0: t.row0 });
        byWeight.set(t.w.name, e);
      }
    }
    const pairs: BuiltSet['pairs'] = new Map();
    const stacked: GpuLoraPair[] = [];
    for (const [wName, { w, parts }] of byWeight) {
      const alone = parts.length === 1 && parts[0].row0 === 0 && parts[0].pair.rows === w.rows;
      const pair = alone ? { ...parts[0].pair, name: wName } : stackPairs(this.k.device, w, parts, uRows);
      if (!alone) stacked.push(pair);
      pairs.set(wName, { pair, parts: parts.map((p) => ({ id: p.id, name: p.name, rank: p.pair.rank })) });
    }
    const view = loraKernels(this.k, new Map([...pairs].map(([n, p]) => [n, p.pair])));
    const body = await this.t.buildBody(view.kernels);
    const set = { body, pairs, owned: view.made, stacked };
    const unused = [...pairs.keys()].filter((n) => !view.used.has(n));
    if (unused.length) {
      this.dropSet('', set);
      throw new UnsupportedModelError(`The ${this.arch} graph has no projection that reads ${unused[0]}, so a LoRA pair on it cannot be applied.`);
    }
    return set;
  }

  private dropSet(key: string, set: BuiltSet): void {
    this.sets.delete(key);
    // A set's buffers may still be read by submitted work: destroy after the queue drains.
    const dead = [...set.owned, ...set.stacked.flatMap((p) => [p.a.data, p.lora])];
    void this.k.device.queue.onSubmittedWorkDone().then(() => dead.forEach((b) => b.destroy()));
    // The running lists are the set's own: fall back to the model's lists.
    if (key && this.currentIds() === key) this.useNone();
  }

  private currentIds(): string {
    return this.currentKey.split('\n').map((e) => e.split('\t')[0]).join('\n');
  }
}
