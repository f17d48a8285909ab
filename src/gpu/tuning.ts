/** Launch shapes per adapter (the defaults Kernels takes; tests pass others to cover every layout). */
export interface Tuning {
  /** Threads per matvec workgroup, and rows it computes (WG / rows threads share a row; rows must be even). */
  matvecWG: number;
  matvecRows: number;
  /** Reduce matvec rows with subgroupAdd: only when WG / rows is the adapter's fixed subgroup size. */
  matvecSubgroups: boolean;
  /** matvec.wgsl ROWS4: each thread computes 4 rows alone (then matvecRows must be 4 * matvecWG). */
  matvecRows4: boolean;
  /** attention.wgsl SERIAL: one invocation per (token, head) instead of a workgroup with barriers. */
  attentionSerial: boolean;
  /** Threads per rmsnorm row (a power of two). */
  rmsnormWG: number;
  /** Threads of the one argmax workgroup (a power of two). */
  argmaxWG: number;
  /** matmul.wgsl DIRECT: 4x4 output blocks straight from memory instead of workgroup-memory tiles. */
  matmulDirect: boolean;
  /**
   * matmul.wgsl F16 (tiled layout only; needs `shader-f16`): f16 tiles in workgroup memory (each x vec4 scaled by a
   * power of two, so no activation overflows) and f16 4-weight dot products added into f32 sums; off with
   * LoadOptions.f16Compute false (loadTuning). GPUs with `shader-f16`; CPU adapters keep f32 (DIRECT has no f16 variant: a CPU
   * converts f16 to f32 to compute, so there is nothing to gain there).
   */
  matmulF16: boolean;
  /** Split-K decode attention: keys per chunk (at least), and most chunks (attention.wgsl SPLIT_K). */
  attentionChunk: number;
  attentionMaxSplits: number;
  /**
   * Decode layers with at most this many weights run as one decode_layer.wgsl dispatch of one workgroup of layerWG
   * threads (runtime/layer-kernel.ts); 0: never.
   */
  layerKernelMaxWeights: number;
  layerWG: number;
  /**
   * matvec reads float weights as a fixed-length array (weights.wgsl W_FIXED: the length written into the WGSL, one
   * pipeline per distinct weight size) instead of a runtime-sized one: on SwiftShader each load of a runtime-sized
   * array is clamped against arrayLength(), 4 integer divisions (sotu-5m f32 decode 1.12x CPU time, BENCHMARKS round 7).
   * The layer kernel always does.
   */
  fixedWeightLengths: boolean;
  /**
   * Reductions use subgroup operations (any subgroup size) where a kernel has a SUBGROUPS variant (argmax, rmsnorm,
   * attention's workgroup variant, decode_layer); the adapter's `subgroups` feature on GPUs. CPU adapters keep their
   * barrier-free variants.
   */
  subgroups: boolean;
}

/**
 * Split-K attention: one workgroup per (head, 256 keys), at most 32 chunks, so a 32-head model at 4k of context
 * launches 512 workgroups instead of 32 (a GPU has ~20-140 compute units; not measured on one yet). Below 257 keys
 * there is one chunk and no merge pass.
 */
const SPLIT_K = { attentionChunk: 256, attentionMaxSplits: 32 };

/**
 * The layer kernel for layers of at most 128K weights (stories260K: 45K): there one dispatch per layer instead of 5.
 * On a GPU this is unmeasured (one workgroup does the layer's work; chosen on the same bound).
 */
const LAYER_KERNEL_MAX = 1 << 17;

/**
 * The tuning a load runs with: the adapter's defaults, without f16 arithmetic when `f16Compute` is false
 * (LoadOptions.f16Compute).
 */
export function loadTuning(caps: Parameters<typeof defaultTuning>[0], o: { f16Compute?: boolean }): Tuning {
  return defaultTuning({ ...caps, f16: (caps.f16 ?? false) && o.f16Compute !== false });
}

/**
 * GPUs: a subgroup (or 16 threads with a tree reduction) per matvec row, workgroup-memory tiles for matmul.
 * CPU adapters (SwiftShader): a workgroup barrier costs far more than the arithmetic of a small row (measured:
 * BENCHMARKS.md), so barrier-free layouts everywhere.
 */
export function defaultTuning(caps: { cpu: boolean; subgroupSize?: number; subgroups?: boolean; f16?: boolean }): Tuning {
  const subgroups = caps.subgroups ?? false;
  if (caps.cpu) {
    // Measured on SwiftShader: 4 rows per thread ~2x one row per thread, which beats a subgroup (4 lanes) or a tree
    // per row; 16 threads keep a workgroup at 64 rows. The layer kernel is one workgroup: split over SwiftShader's
    // worker threads it lost on a quiet machine (0.91-0.93x wall for 1.8x the CPU; BENCHMARKS.md round 8).
    return {
      matvecWG: 16, matvecRows: 64, matvecSubgroups: false, matvecRows4: true, attentionSerial: true, rmsnormWG: 1, argmaxWG: 4, matmulDirect: true, matmulF16: false,
      ...SPLIT_K, layerKernelMaxWeights: LAYER_KERNEL_MAX, layerWG: 4, subgroups: false, fixedWeightLengths: true,
    };
  }
  const sg = caps.subgroupSize;
  // A subgroup per row when the adapter's subgroup size is fixed: the reduction needs no barrier.
  const matvec = sg && sg >= 4 && sg <= 32 ? { matvecRows: 64 / sg, matvecSubgroups: true } : { matvecRows: 4, matvecSubgroups: false };
  return {
    matvecWG: 64, ...matvec, matvecRows4: false, attentionSerial: false, rmsnormWG: 64, argmaxWG: 256, matmulDirect: false,
    matmulF16: caps.f16 ?? false, ...SPLIT_K,
    layerKernelMaxWeights: LAYER_KERNEL_MAX, layerWG: 256, subgroups, fixedWeightLengths: false,
  };
}

