/**
 * LoRA adapter files → low-rank pairs in f32, keyed by the GGUF name of the base matrix they adapt:
 * - GGUF as llama.cpp's convert_lora_to_gguf.py writes it (and llama.cpp's llama-adapter.cpp reads it):
 *   `general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`, `general.architecture`, tensors
 *   `<base name>.lora_a` (ne [k, r] → row-major [r, k]) and `<base name>.lora_b` (ne [r, n] → [n, r]);
 * - PEFT: `adapter_config.json` (r, lora_alpha, use_rslora, alpha_pattern) + `adapter_model.safetensors` with
 *   `base_model.model.<HF module>.lora_A.weight` [r, k] / `lora_B.weight` [n, r], HF names mapped by the family.
 * The scale of a pair is alpha / r (rsLoRA: alpha / √r), or 1 when a GGUF gives no alpha (as llama.cpp).
 * Pure functions, no GPU: the engine checks the pairs against the base (`checkAdapter`) and uploads them.
 */
import { parseGgufHeader, type GgufHeader } from '../formats/gguf.ts';
import { ggufString } from '../formats/gguf-metadata.ts';
import { parseSafetensorsHeader } from '../formats/safetensors.ts';
import { canonicalName } from '../families/tensors.ts';
import type { HfNameMap } from '../families/spec.ts';
import { dequantize } from '../formats/quant.ts';
import type { TensorInfo } from '../model/types.ts';
import { AdapterMismatchError, ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { Sha256 } from '../cache/sha256.ts';

/** One adapted matrix W [n, k]: W·x + scale·B·(A·x). */
export interface LoraPair {
  /** A [rank, k], row-major. */
  a: Float32Array;
  /** B [n, rank], row-major. */
  b: Float32Array;
  rank: number;
  /** n and k of the base matrix this pair fits. */
  rows: number;
  cols: number;
  /** alpha / rank (rsLoRA: alpha / √rank); multiplied by the request's scale. */
  scale: number;
}

export interface LoraAdapterData {
  format: 'gguf' | 'peft';
  /** GGUF `general.architecture` (PEFT files do not say; their names are mapped with the base's family). */
  arch?: string;
  alpha?: number;
  /** Base matrix GGUF name → its pair. */
  pairs: Map<string, LoraPair>;
}

/**
 * sha256 of what an adapter computes (its pairs by name: shape, scale, A and B values), hex. Ids are the caller's
 * names and may be reused for other files; the response cache keys replies on this instead.
 */
export function adapterDigest(data: LoraAdapterData): string {
  const h = new Sha256();
  const enc = new TextEncoder();
  for (const name of [...data.pairs.keys()].sort()) {
    const p = data.pairs.get(name)!;
    h.update(enc.encode(`${name}\n${p.rank} ${p.rows} ${p.cols} ${p.scale}\n`));
    h.update(new Uint8Array(p.a.buffer, p.a.byteOffset, p.a.byteLength));
    h.update(new Uint8Array(p.b.buffer, p.b.byteOffset, p.b.byteLength));
  }
  return h.hex();
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function tensorF32(bytes: Uint8Array, t: TensorInfo): Float32Array {
  if (t.offset + t.byteLength > bytes.byteLength) throw new ModelFormatError(`Adapter tensor ${t.name} runs past the end of the file (truncated?).`);
  return dequantize(t.type, bytes.subarray(t.offset, t.offset + t.byteLength), elements(t.shape));
}

/** Pairs `<base>.A` / `<base>.B` tensors and checks that A [r, k] and B [n, r] agree on r. */
function makePairs(
  found: Map<string, { a?: { t: TensorInfo; v: Float32Array }; b?: { t: TensorInfo; v: Float32Array } }>,
  scaleOf: (base: string, rank: number) => number,
): Map<string, LoraPair> {
  const pairs = new Map<string, LoraPair>();
  for (const [base, { a, b }] of found) {
    if (!a || !b) throw new ModelFormatError(`LoRA adapter: tensor ${base} has only its ${a ? 'A' : 'B'} half; the file is incomplete.`);
    if (a.t.shape.length !== 2 || b.t.shape.length !== 2) throw new ModelFormatError(`LoRA adapter: the A and B tensors of ${base} must be matrices.`);
    const [rank, cols] = a.t.shape;
    const [rows, rankB] = b.t.shape;
    if (rank !== rankB) {
      throw new AdapterMismatchError(
        `LoRA adapter: ${base} has A of rank ${rank} ([${a.t.shape.join(', ')}]) but B of rank ${rankB} ([${b.t.shape.join(', ')}]); ` +
          'A must be [r, k] and B [n, r] (a GGUF from llama.cpp\'s old finetune example stores A transposed: convert the adapter again with convert_lora_to_gguf.py).',
        base,
      );
    }
    if (rank === 0) throw new ModelFormatError(`LoRA adapter: ${base} has rank 0.`);
    pairs.set(base, { a: a.v, b: b.v, rank, rows, cols, scale: scaleOf(base, rank) });
  }
  if (pairs.size === 0) throw new ModelFormatError('LoRA adapter: the file holds no LoRA tensor pairs.');
  return pairs;
}

/** A llama.cpp LoRA GGUF (the whole file in memory: adapters are small). */
export function parseGgufAdapter(bytes: Uint8Array, name = 'adapter'): LoraAdapterData {
  const h = parseGgufHeader(bytes, { fileSize: bytes.byteLength });
  if ('needBytes' in h) throw new ModelFormatError(`${name}: the GGUF header runs past the end of the file (truncated?).`);
  const meta = (h as GgufHeader).metadata;
  const type = ggufString(meta, 'general.type', '');
  if (type !== 'adapter') {
    throw new UnsupportedModelError(
      `${name} is not a LoRA adapter (general.type is '${type || 'missing'}', expected 'adapter'): ` +
        (type === 'model' ? 'it is a model; load it with load().' : 'convert the adapter with llama.cpp\'s convert_lora_to_gguf.py.'),
    );
  }
  const adapterType = ggufString(meta, 'adapter.type', '');
  if (adapterType !== 'lora') throw new UnsupportedModelError(`${name} is a '${adapterType || 'unknown'}' adapter; llmo applies LoRA adapters (adapter.type = lora) only.`);
  const alphaRaw = meta.get('adapter.lora.alpha');
  const alpha = typeof alphaRaw === 'number' ? alphaRaw : 0;
  const found = new Map<string, { a?: { t: TensorInfo; v: Float32Array }; b?: { t: TensorInfo; v: Float32Array } }>();
  for (const t of h.tensors) {
    const m = /^(.+)\.lora_([ab])$/.exec(t.name);
    if (!m) {
      if (t.name.endsWith('_norm.weight')) continue; // llama.cpp ignores adapted norm vectors too
      throw new ModelFormatError(`${name}: tensor ${t.name} is not a LoRA tensor (expected <base tensor>.lora_a / .lora_b).`);
    }
    const e = found.get(m[1]) ?? {};
    e[m[2] as 'a' | 'b'] = { t, v: tensorF32(bytes, t) };
    found.set(m[1], e);
  }
  return {
    format: 'gguf', arch: ggufString(meta, 'general.architecture', undefined), alpha,
    pairs: makePairs(found, (_, r) => (alpha ? alpha / r : 1)),
  };
}

/** The fields of PEFT's adapter_config.json that change what the adapter computes. */
export interface PeftConfig {
  peft_type?: string;
  r?: number;
  lora_alpha?: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  fan_in_fan_out?: boolean;
  alpha_pattern?: Record<string, number>;
  target_modules?: string[] | string;
  modules_to_save?: string[] | null;
}

/**
 * llama.cpp's converter permutes a llama GGUF's Q/K rows from HF's rotate-half layout to adjacent pairs
 * (reshape(heads, 2, d/2, cols).swapaxes(1, 2)); a PEFT B [n, r] adapting those rows must be permuted the same way
 * (convert_lora_to_gguf.py does it for GGUF adapters): new row h·d + 2i + j = old row h·d + j·d/2 + i.
 */
function permuteRows(b: Float32Array, heads: number, rows: number, cols: number): Float32Array {
  const d = rows / heads;
  const out = new Float32Array(b.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < d / 2; i++) {
      for (let j = 0; j < 2; j++) out.set(b.subarray((h * d + j * (d / 2) + i) * cols, (h * d + j * (d / 2) + i + 1) * cols), (h * d + 2 * i + j) * cols);
    }
  }
  return out;
}

/**
 * A PEFT LoRA (adapter_config.json + adapter_model.safetensors), HF module names mapped to GGUF names with the base
 * family's table (`names`). `qkHeads`: the base is a GGUF whose Q/K rows the converter permuted (see permuteRows).
 */
export function parsePeftAdapter(
  config: PeftConfig, bytes: Uint8Array, names: HfNameMap, name = 'adapter_model.safetensors', qkHeads?: { q: number; k: number },
): LoraAdapterData {
  if (config.peft_type !== undefined && config.peft_type !== 'LORA') {
    throw new UnsupportedModelError(`${name}: PEFT type ${config.peft_type}; llmo applies LoRA adapters (peft_type LORA) only.`);
  }
  if (config.use_dora) throw new UnsupportedModelError(`${name}: DoRA (use_dora) adapters are not supported; train or convert a plain LoRA.`);
  if (config.fan_in_fan_out) throw new UnsupportedModelError(`${name}: fan_in_fan_out (GPT-2 style Conv1D) adapters are not supported.`);
  const h = parseSafetensorsHeader(bytes, { fileSize: bytes.byteLength, names: { global: {}, layer: {} } });
  if ('needBytes' in h) throw new ModelFormatError(`${name}: the safetensors header runs past the end of the file (truncated?).`);
  const alpha = config.lora_alpha ?? config.r ?? 8;
  const found = new Map<string, { a?: { t: TensorInfo; v: Float32Array }; b?: { t: TensorInfo; v: Float32Array } }>();
  const hfOf = new Map<string, string>();
  for (const t of h.tensors) {
    const m = /^(?:base_model\.model\.)?(.+)\.lora_([AB])(?:\.[^.]+)?\.weight$/.exec(t.name);
    if (!m) {
      throw new UnsupportedModelError(
        `${name}: tensor ${t.name} is not a LoRA A/B weight (modules_to_save, bias or embedding adapters are not supported).`,
      );
    }
    const base = canonicalName(`${m[1]}.weight`, names);
    if (!base.startsWith('blk.') && base === `${m[1]}.weight`) {
      throw new AdapterMismatchError(`${name}: module ${m[1]} is not a tensor of the base model's family (was the adapter trained for another architecture?).`, `${m[1]}.weight`);
    }
    hfOf.set(base, m[1]);
    const e = found.get(base) ?? {};
    e[m[2] === 'A' ? 'a' : 'b'] = { t, v: tensorF32(bytes, t) };
    found.set(base, e);
  }
  const alphaOf = (base: string): number => {
    const module = hfOf.get(base) ?? base;
    // PEFT's alpha_pattern keys match a module name's tail.
    for (const [pattern, a] of Object.entries(config.alpha_pattern ?? {})) {
      if (module === pattern || module.endsWith(`.${pattern}`) || new RegExp(`(^|\\.)${pattern}$`).test(module)) return a;
    }
    return alpha;
  };
  const pairs = makePairs(found, (base, r) => alphaOf(base) / (config.use_rslora ? Math.sqrt(r) : r));
  for (const [base, p] of pairs) {
    const heads = !qkHeads ? 0 : base.endsWith('.attn_q.weight') ? qkHeads.q : base.endsWith('.attn_k.weight') ? qkHeads.k : 0;
    if (heads && p.rows % (2 * heads) === 0) p.b = permuteRows(p.b, heads, p.rows, p.rank);
  }
  return { format: 'peft', alpha, pairs };
}

/** What the engine knows of a base matrix to check an adapter against. */
export interface BaseMatrix {
  rows: number;
  cols: number;
}

/**
 * Checks every pair against the base model: its architecture (GGUF adapters say theirs), that the adapted matrix
 * exists and has the pair's [n, k]. The token embedding and the output head are refused (they are not projections
 * of a layer: llmo adapts the attention and MLP projections).
 */
export function checkAdapter(data: LoraAdapterData, arch: string, base: (name: string) => BaseMatrix | undefined): void {
  if (data.arch !== undefined && data.arch !== arch) {
    throw new AdapterMismatchError(
      `The LoRA adapter was made for the ${data.arch} architecture but the loaded model is ${arch}: load it on the base model it was trained for.`,
      'general.architecture',
    );
  }
  for (const [name, p] of data.pairs) {
    if (name === 'token_embd.weight' || name === 'output.weight') {
      throw new UnsupportedModelError(`The LoRA adapter adapts ${name}; llmo applies adapters to the attention and MLP projections only (merge it into the model with llama.cpp's llama-export-lora instead).`);
    }
    const w = base(name);
    if (!w) throw new AdapterMismatchError(`LoRA tensor ${name} does not exist in the base model (wrong base model?): load the adapter on the model it was trained for.`, name);
    if (w.rows !== p.rows || w.cols !== p.cols) {
      throw new AdapterMismatchError(
        `LoRA tensor ${name} adapts a [${p.rows}, ${p.cols}] matrix but the base model's is [${w.rows}, ${w.cols}] (wrong base model?): ` +
          'load the adapter on the model it was trained for.',
        name,
      );
    }
  }
}
