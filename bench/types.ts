/** Shapes shared by the bench page (bench/page.ts) and its Node runner (bench/runner.ts). */

export interface BenchModel {
  /** Short name used in the table. */
  name: string;
  url: string;
  /** Compare llmo's greedy tokens with llama.cpp's (f32 weights: both must agree exactly). */
  guard: boolean;
}

export interface BenchConfig {
  models: BenchModel[];
  runs: number;
  promptSizes: number[];
  decodeTokens: number;
  /** Engines to run: 'llmo', 'wllama-webgpu', 'wllama-cpu'. */
  engines: EngineName[];
  /** Also time every llmo kernel with timestamp-query (separate pass, not part of the speed figures). */
  profile: boolean;
  /** `--node`: llmo already measured in Node on Dawn, per model name; the page then runs only the other engines. */
  llmoFromNode?: Record<string, LlmoMeasured>;
}

/** llmo's figures for one model, with what the page needs to plan the other engines' runs the same way. */
export interface LlmoMeasured {
  res: EngineResult;
  tokens: number[];
  ctx: number;
  vocab: number;
  profile?: ModelResult['profile'];
}

export type EngineName = 'llmo' | 'wllama-webgpu' | 'wllama-cpu';

/** Median and spread of one figure over the runs. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export interface EngineResult {
  engine: EngineName;
  /** Set when the engine could not run here (e.g. "unavailable: …"); the figures are then absent. */
  unavailable?: string;
  loadMs?: number;
  /** Prompt length (after capping to the context) → prefill tokens/s and time to first token. */
  prefill?: Record<number, { tokPerSec: Stat; ttftMs: Stat }>;
  decodeTokPerSec?: Stat;
  /** llmo: host (JS) ms per decoded token (GenerationStats.decodeHostMsPerToken). */
  hostMsPerToken?: Stat;
  /** llmo: decode tok/s and host ms per token by kind of request (greedy, sampled, logprobs, JSON). */
  kinds?: Record<string, { tokPerSec: Stat; hostMsPerToken: Stat; tokens: number }>;
  /** GPU bytes the engine allocated (llmo: weights + KV cache + activations; wllama: its WebGPU buffers). */
  gpuBytes?: number;
  notes?: string[];
}

export interface KernelRow {
  kernel: string;
  ms: number;
  calls: number;
  share: number;
}

export interface ModelResult {
  model: string;
  url: string;
  contextLength: number;
  /** Prompt sizes asked for that the context could not hold, and what was run instead. */
  capped: string[];
  engines: EngineResult[];
  /** llmo / other engine, medians. */
  ratios: Record<string, { decode?: number; prefill: Record<number, number> }>;
  guard?: { against: string; equal: boolean; firstDifference?: number } | { skipped: string };
  profile?: { decode: KernelRow[]; prefill: KernelRow[]; dispatches: { decode: number; prefill: number }; decodeTokens: number; prefillTokens: number };
}

export interface BenchReport {
  adapter: string;
  features: string[];
  userAgent: string;
  config: BenchConfig;
  models: ModelResult[];
}
