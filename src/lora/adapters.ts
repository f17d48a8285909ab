/**
 * One model's LoRA adapters as the engine offers them: load (from a URL, `hf:` id, File(s); cached like models),
 * unload, list, select per request, and merge into F32/F16 base weights. EngineCore runs each of these alone on the
 * engine (its request queue) and compares `select`'s key with the key its cached KV was computed under.
 */
import type { Kernels } from '../gpu/kernels.ts';
import type { WeightStore } from '../gpu/weights.ts';
import type { Transformer } from '../runtime/transformer.ts';
import type { ModelConfig } from '../model/types.ts';
import { familyOf } from '../families/index.ts';
import { fetchAdapter, type AdapterFetchOptions, type AdapterSource, type PeftBase } from './fetch-adapter.ts';
import { LoraSet, type AdapterInfo, type LoraRequest } from './lora-set.ts';
import { mergePairs } from './merge.ts';

export interface LoadAdapterOptions extends AdapterFetchOptions {
  /** The id requests name it by (`lora: [{ id }]`). Default: the source's file or folder name. */
  id?: string;
}

function defaultId(source: AdapterSource): string {
  if (Array.isArray(source) || (typeof FileList !== 'undefined' && source instanceof FileList)) {
    const files = Array.from(source as ArrayLike<File>);
    return files.find((f) => f.name.endsWith('.gguf'))?.name ?? 'adapter';
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return (source as File).name ?? 'adapter';
  const s = typeof source === 'object' && 'file' in source ? source.file : String(source);
  const parts = s.split(/[?#]/)[0].split('/').filter(Boolean);
  const last = parts.pop() ?? 'adapter';
  // A PEFT file names nothing: its folder does.
  return /^adapter_(config\.json|model\.safetensors)$/.test(last) ? (parts.pop() ?? last) : last;
}

export class Adapters {
  private readonly set: LoraSet;
  /** Bumped by every merge: KV computed before it came from other weights. */
  private generation = 0;

  private readonly peft: PeftBase;

  constructor(
    private readonly k: Kernels,
    transformer: Transformer,
    private readonly weights: WeightStore,
    config: ModelConfig,
    format: 'gguf' | 'safetensors',
  ) {
    const family = familyOf(config.arch);
    this.set = new LoraSet(k, transformer, config.arch, weights);
    // A GGUF of a family whose converter permuted Q/K rows (families/spec.ts ggufRopeStyle) needs PEFT B rows permuted.
    const permuted = format === 'gguf' && family.ggufRopeStyle === 'normal';
    this.peft = { names: family.hfNames, qkHeads: permuted ? { q: config.nHeads, k: config.nKvHeads } : undefined };
  }

  get bytes(): number {
    return this.set.bytes;
  }

  async load(source: AdapterSource, o: LoadAdapterOptions = {}): Promise<AdapterInfo> {
    const data = await fetchAdapter(source, this.peft, o);
    return this.set.add(o.id ?? defaultId(source), data);
  }

  unload(id: string): void {
    this.set.remove(id);
  }

  list(): AdapterInfo[] {
    return this.set.list();
  }

  /** Applies a request's adapters; returns the key of what the KV now depends on. */
  async select(req: readonly LoraRequest[] | undefined): Promise<string> {
    const key = await this.set.select(req);
    return `${this.generation}|${key}`;
  }

  /**
   * Adds scale·B·A into the base matrices for good (F32 and F16 bases; quantized ones are refused, naming the
   * tensor): requests then run at the base's speed without asking for the adapter. The adapter stays listed as
   * merged and cannot be selected any more.
   */
  async merge(id: string, scale = 1): Promise<AdapterInfo> {
    await this.set.select(undefined);
    const { pairs, scales } = this.set.pairsOf(id);
    await mergePairs(this.k, this.weights, pairs, (name) => scale * scales.get(name)!);
    this.set.markMerged(id, scale);
    this.generation++;
    return this.set.list().find((a) => a.id === id)!;
  }

  destroy(): void {
    this.set.destroy();
  }
}
