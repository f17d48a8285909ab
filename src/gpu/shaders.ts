import { preprocessWgsl } from './preprocess.ts';
import common from '../../shaders/common.wgsl?raw';
import weights from '../../shaders/weights.wgsl?raw';
import matvec from '../../shaders/matvec.wgsl?raw';
import matmul from '../../shaders/matmul.wgsl?raw';
import rmsnorm from '../../shaders/rmsnorm.wgsl?raw';
import rope from '../../shaders/rope.wgsl?raw';
import attention from '../../shaders/attention.wgsl?raw';
import embedding from '../../shaders/embedding.wgsl?raw';
import argmax from '../../shaders/argmax.wgsl?raw';
import sample from '../../shaders/sample.wgsl?raw';
import logprobs from '../../shaders/logprobs.wgsl?raw';
import tokenMask from '../../shaders/token_mask.wgsl?raw';
import rotary from '../../shaders/rotary.wgsl?raw';
import linearOut from '../../shaders/linear_out.wgsl?raw';
import layernorm from '../../shaders/layernorm.wgsl?raw';
import pool from '../../shaders/pool.wgsl?raw';
import activations from '../../shaders/activations.wgsl?raw';
import loraMerge from '../../shaders/lora_merge.wgsl?raw';
import kv from '../../shaders/kv.wgsl?raw';
import kvStore from '../../shaders/kv_store.wgsl?raw';
import radixSelect from '../../shaders/radix_select.wgsl?raw';
import decodeLayer from '../../shaders/decode_layer.wgsl?raw';

/** One WGSL file per block weight format (shaders/formats/<id>.wgsl), keyed by the format table's id. */
const FORMAT_FILES = import.meta.glob('../../shaders/formats/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
const FORMAT_SOURCES = new Map(Object.entries(FORMAT_FILES).map(([path, src]) => [/([^/]+)\.wgsl$/.exec(path)![1], src]));

/** The WGSL of a block format (its `FMT_<ID>` define), or undefined for the float formats inside weights.wgsl. */
export function formatSource(id: string): string | undefined {
  return FORMAT_SOURCES.get(id);
}

/**
 * Every kernel, one WGSL file each, and the shared pieces it includes (after common.wgsl): weights.wgsl (it reads a
 * weight matrix), rotary.wgsl (it rotates RoPE pairs), linear_out.wgsl (it writes a projection's output),
 * activations.wgsl (GELU, tanh soft-capping), kv.wgsl (KV-cache formats), radix_select.wgsl (the k-th largest key).
 */
const KERNELS = {
  matvec: { src: matvec, includes: [weights, rotary, activations, linearOut] },
  matmul: { src: matmul, includes: [weights, activations, linearOut] },
  embedding: { src: embedding, includes: [weights] },
  rmsnorm: { src: rmsnorm, includes: [rotary] },
  rope: { src: rope, includes: [rotary] },
  attention: { src: attention, includes: [activations, kv] },
  kv_store: { src: kvStore, includes: [kv] },
  decode_layer: { src: decodeLayer, includes: [weights, rotary, kv] },
  argmax: { src: argmax, includes: [] },
  sample: { src: sample, includes: [radixSelect] },
  logprobs: { src: logprobs, includes: [radixSelect] },
  token_mask: { src: tokenMask, includes: [] },
  layernorm: { src: layernorm, includes: [] },
  pool: { src: pool, includes: [] },
  lora_merge: { src: loraMerge, includes: [] },
} satisfies Record<string, { src: string; includes: string[] }>;

export type KernelName = keyof typeof KERNELS;

/** Full WGSL for a kernel variant: shared prelude, the kernel's includes, the kernel body. */
export function kernelSource(name: KernelName, defines: Iterable<string> = []): string {
  const k = KERNELS[name];
  const set = new Set(defines);
  // WGSL `enable` must precede every declaration (F16: f16 arithmetic, the device's `shader-f16`; so no kernel may use
  // `F16` for anything else, e.g. lora_merge's F16 weights are `F16_BASE`).
  const parts = [...(set.has('F16') ? ['enable f16;'] : []), ...(set.has('SUBGROUPS') ? ['enable subgroups;'] : []), common];
  // A kernel that reads weights gets its format's file (the FMT_<ID> define names it) before weights.wgsl.
  if ((k.includes as string[]).includes(weights)) {
    for (const d of set) {
      const src = d.startsWith('FMT_') ? formatSource(d.slice(4).toLowerCase()) : undefined;
      if (src) parts.push(src);
    }
  }
  parts.push(...k.includes, k.src);
  return preprocessWgsl(parts.join('\n'), set);
}
