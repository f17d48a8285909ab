/**
 * The model picker's catalogue: a few small chat models on the Hugging Face hub in formats llmo reads, plus any
 * list found in a models JSON (`?models=<url>`, or `./models.json` next to the page), e.g. a local test server's.
 */

export interface CatalogModel {
  name: string;
  /** What `load()` takes: a URL (absolute or relative to the list) or `hf:owner/repo/file`. */
  source: string;
  /** Download size in bytes (for the size column and the fit estimate). */
  bytes: number;
  /**
   * KV cache bytes per token of context (f32: 2 · layers · KV heads · head size · 4), for the fit estimate at the
   * engine's default context of 4096; absent: a 15% allowance.
   */
  kvBytesPerToken?: number;
  note?: string;
}

/**
 * Repo and file names checked against public references to the hub (sizes of the Q8_0 files as listed there; the
 * safetensors size is approximate). Q8_0 GGUFs from llama.cpp keep every matrix in Q8_0; the Phi entry is a K-quant mix.
 */
export const HUB_MODELS: CatalogModel[] = [
  {
    name: 'SmolLM2 360M Instruct · Q8_0',
    source: 'hf:HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/smollm2-360m-instruct-q8_0.gguf',
    bytes: 386_404_992,
    kvBytesPerToken: 2 * 32 * 5 * 64 * 4,
    note: 'llama · small, quick chat model',
  },
  {
    name: 'SmolLM2 135M Instruct · BF16 safetensors',
    source: 'hf:HuggingFaceTB/SmolLM2-135M-Instruct/model.safetensors',
    bytes: 269_000_000,
    kvBytesPerToken: 2 * 30 * 3 * 64 * 4,
    note: 'llama · safetensors + config.json + tokenizer.json',
  },
  {
    // lmstudio-community mirrors bartowski's llama.cpp quants without Google's licence gate (google/* repos need a login).
    name: 'Gemma 3 1B IT · Q8_0',
    source: 'hf:lmstudio-community/gemma-3-1b-it-GGUF/gemma-3-1b-it-Q8_0.gguf',
    bytes: 1_070_000_000,
    kvBytesPerToken: 2 * 26 * 1 * 256 * 4,
    note: 'gemma3 · 5:1 sliding-window / global attention (size as listed, 1.07 GB)',
  },
  {
    // bartowski's llama.cpp quant of microsoft/Phi-3.5-mini-instruct (MIT); Q4_K_M mixes Q4_K and Q6_K.
    name: 'Phi-3.5 mini Instruct · Q4_K_M',
    source: 'hf:bartowski/Phi-3.5-mini-instruct-GGUF/Phi-3.5-mini-instruct-Q4_K_M.gguf',
    bytes: 2_390_000_000,
    // 32 layers × 32 KV heads of 96: 3.2 GB of f32 KV cache at 4096 tokens, more than the weights.
    kvBytesPerToken: 2 * 32 * 32 * 96 * 4,
    note: 'phi3 · 3.8B, LongRoPE to 128K (size as listed, 2.39 GB)',
  },
  {
    name: 'Qwen2.5 0.5B Instruct · Q8_0',
    source: 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q8_0.gguf',
    bytes: 675_710_816,
    kvBytesPerToken: 2 * 24 * 2 * 64 * 4,
    note: 'qwen2 · multilingual',
  },
];

interface ModelsFile {
  models: CatalogModel[];
}

/** Reads a models JSON (`{ "models": [{ name, source, bytes, note? }] }`); relative sources resolve against it. */
export async function fetchModelList(url: string): Promise<CatalogModel[]> {
  const abs = new URL(url, location.href);
  const res = await fetch(abs);
  if (!res.ok) throw new Error(`The model list ${abs.href} answered HTTP ${res.status}.`);
  const body = (await res.json()) as ModelsFile | CatalogModel[];
  const list = Array.isArray(body) ? body : body.models;
  if (!Array.isArray(list)) throw new Error(`The model list ${abs.href} has no "models" array.`);
  return list
    .filter((m) => typeof m?.source === 'string')
    .map((m) => ({
      name: String(m.name ?? m.source),
      source: m.source.startsWith('hf:') ? m.source : new URL(m.source, abs).href,
      bytes: Number(m.bytes) || 0,
      note: m.note,
    }));
}

/** The page's catalogue: the list named by `?models=`, else `./models.json` when present, then the hub models. */
export async function loadCatalog(): Promise<{ models: CatalogModel[]; error?: string }> {
  const named = new URLSearchParams(location.search).get('models');
  try {
    const extra = await fetchModelList(named ?? './models.json');
    return { models: [...extra, ...HUB_MODELS] };
  } catch (e) {
    // No models.json next to the page is the normal case on a public host.
    return { models: HUB_MODELS, error: named ? (e as Error).message : undefined };
  }
}

export interface DeviceBudget {
  webgpu: boolean;
  adapter?: string;
  /** Largest single GPU buffer this adapter allows. */
  maxBufferBytes?: number;
  /** A rough ceiling for the model's GPU memory on this device. */
  budgetBytes?: number;
}

/**
 * What this device can probably hold. Browsers do not report GPU memory, so this is an estimate: half the system
 * memory the browser admits to (navigator.deviceMemory, capped at 8 GiB by Chrome), 4 GiB when it says nothing.
 */
export async function deviceBudget(): Promise<DeviceBudget> {
  if (!('gpu' in navigator) || !navigator.gpu) return { webgpu: false };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigator.gpu.requestAdapter();
  } catch {
    adapter = null;
  }
  if (!adapter) return { webgpu: false };
  const mem = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  const info = adapter.info;
  return {
    webgpu: true,
    adapter: [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'WebGPU adapter',
    maxBufferBytes: adapter.limits.maxBufferSize,
    budgetBytes: (mem ? mem / 2 : 4) * 2 ** 30,
  };
}

export type Fit = 'fits' | 'tight' | 'too-large' | 'unknown';

/** The engine's context when the demo loads a model (EngineCore's default). */
const DEMO_CONTEXT = 4096;

/** Weights plus the KV cache at the demo's context (or ~15% when the entry does not say) and ~5% for activations. */
export function estimateFit(m: CatalogModel, d: DeviceBudget): Fit {
  if (!d.webgpu) return 'too-large';
  if (!m.bytes || !d.budgetBytes) return 'unknown';
  const need = m.kvBytesPerToken === undefined ? m.bytes * 1.15 : m.bytes * 1.05 + m.kvBytesPerToken * DEMO_CONTEXT;
  if (need <= d.budgetBytes * 0.75) return 'fits';
  if (need <= d.budgetBytes) return 'tight';
  return 'too-large';
}

export function formatBytes(n: number): string {
  if (!n) return '?';
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}
