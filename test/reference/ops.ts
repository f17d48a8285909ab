/**
 * Plain-TypeScript reference ops on row-major Float32Arrays: the ground truth GPU kernels are checked against.
 * Written from the model definitions (HF transformers' modeling_llama / qwen2 / qwen3, ggml semantics), not
 * from our WGSL. Sums accumulate in JS numbers (f64): slower, but it keeps rounding out of the reference.
 * Every op returns a fresh array and never mutates its inputs.
 */

function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(`reference op: ${msg}`);
}

/** RMSNorm of each of `rows` rows of `dim`: y = x / sqrt(mean(x²) + eps) · weight. */
export function rmsnorm(x: Float32Array, weight: Float32Array, rows: number, dim: number, eps: number): Float32Array {
  check(x.length === rows * dim, `rmsnorm: x has ${x.length} elements, expected rows*dim = ${rows * dim}`);
  check(weight.length === dim, `rmsnorm: weight has ${weight.length} elements, expected dim = ${dim}`);
  const y = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) y[o + i] = x[o + i] * inv * weight[i];
  }
  return y;
}

/** y = x · Wᵀ (+ bias): W is [N, K] (one row per output), x is [M, K]; returns [M, N]. */
export function matmul(W: Float32Array, x: Float32Array, M: number, N: number, K: number, bias?: Float32Array): Float32Array {
  check(W.length === N * K, `matmul: W has ${W.length} elements, expected N*K = ${N * K}`);
  check(x.length === M * K, `matmul: x has ${x.length} elements, expected M*K = ${M * K}`);
  check(!bias || bias.length === N, `matmul: bias has ${bias?.length} elements, expected N = ${N}`);
  const y = new Float32Array(M * N);
  // Rows of W outermost: a row is read from memory once for all M inputs (each output's sum keeps the same order).
  for (let n = 0; n < N; n++) {
    const wo = n * K;
    for (let m = 0; m < M; m++) {
      const xo = m * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += W[wo + k] * x[xo + k];
      y[m * N + n] = bias ? s + bias[n] : s;
    }
  }
  return y;
}

/**
 * Rotary position embedding of x [T, nHeads·headDim]; token t sits at `positions[t]`.
 * Pair i (0 ≤ i < headDim/2) is rotated by angle pos · theta^(−2i/headDim) / freqFactors[i]:
 * - `normal`: the pair is (x[2i], x[2i+1]) (ggml mode 0, GGUF llama);
 * - `neox`:   the pair is (x[i], x[i + headDim/2]) (HF rotate_half).
 * Rotation: (a, b) → (a·cos − b·sin, a·sin + b·cos).
 */
export function rope(
  x: Float32Array,
  positions: readonly number[],
  nHeads: number,
  headDim: number,
  theta: number,
  style: 'normal' | 'neox',
  freqFactors?: Float32Array,
  /** rotDim: only the first rotDim dimensions of each head turn (partial rotary), the rest are copied; scale: multiplies the turned ones. */
  o: { rotDim?: number; scale?: number } = {},
): Float32Array {
  const T = positions.length;
  const rotDim = o.rotDim ?? headDim;
  const m = o.scale ?? 1;
  const half = rotDim / 2;
  check(rotDim % 2 === 0 && rotDim <= headDim, `rope: rotDim ${rotDim} must be even and at most headDim ${headDim}`);
  check(x.length === T * nHeads * headDim, `rope: x has ${x.length} elements, expected T*nHeads*headDim = ${T * nHeads * headDim}`);
  check(!freqFactors || freqFactors.length === half, `rope: freqFactors has ${freqFactors?.length} elements, expected rotDim/2 = ${half}`);
  const y = Float32Array.from(x);
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < nHeads; h++) {
      const o = (t * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const freq = Math.pow(theta, (-2 * i) / rotDim) / (freqFactors ? freqFactors[i] : 1);
        const angle = positions[t] * freq;
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const ia = style === 'normal' ? o + 2 * i : o + i;
        const ib = style === 'normal' ? o + 2 * i + 1 : o + i + half;
        const a = x[ia];
        const b = x[ib];
        y[ia] = (a * c - b * s) * m;
        y[ib] = (a * s + b * c) * m;
      }
    }
  }
  return y;
}

/**
 * Causal scaled-dot-product attention with grouped-query heads.
 * q: [nQ, nHeads·headDim]; k, v: [kvLen, nKvHeads·headDim] (cache rows 0..kvLen-1 = absolute positions).
 * Query t is at absolute position qPos0 + t and attends to kv rows 0..qPos0+t; query head h reads kv head
 * floor(h / (nHeads / nKvHeads)). Scores are scaled by 1/sqrt(headDim) (or `o.scale`), then soft-capped when
 * `o.softcap` (s → cap·tanh(s/cap), gemma2). With `o.window` a query sees only kv rows last−window+1..last (HF's
 * sliding-window mask). Returns [nQ, nHeads·headDim].
 */
export function attention(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  nHeads: number,
  nKvHeads: number,
  headDim: number,
  nQ: number,
  kvLen: number,
  qPos0: number,
  o: { scale?: number; softcap?: number; window?: number } = {},
): Float32Array {
  check(nHeads % nKvHeads === 0, `attention: nHeads ${nHeads} is not a multiple of nKvHeads ${nKvHeads}`);
  check(q.length === nQ * nHeads * headDim, `attention: q has ${q.length} elements, expected ${nQ * nHeads * headDim}`);
  check(k.length === kvLen * nKvHeads * headDim, `attention: k has ${k.length} elements, expected ${kvLen * nKvHeads * headDim}`);
  check(v.length === kvLen * nKvHeads * headDim, `attention: v has ${v.length} elements, expected ${kvLen * nKvHeads * headDim}`);
  check(qPos0 >= 0 && qPos0 + nQ <= kvLen, `attention: queries at positions ${qPos0}..${qPos0 + nQ - 1} need kvLen ≥ ${qPos0 + nQ}, got ${kvLen}`);
  const group = nHeads / nKvHeads;
  const qStride = nHeads * headDim;
  const kvStride = nKvHeads * headDim;
  const scale = o.scale ?? 1 / Math.sqrt(headDim);
  const out = new Float32Array(nQ * qStride);
  const scores = new Float64Array(kvLen);
  for (let t = 0; t < nQ; t++) {
    const last = qPos0 + t; // attends to kv rows first..last inclusive
    const first = o.window ? Math.max(0, last - o.window + 1) : 0;
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const qo = t * qStride + h * headDim;
      let max = -Infinity;
      for (let j = first; j <= last; j++) {
        const ko = j * kvStride + kvh * headDim;
        let s = 0;
        for (let d = 0; d < headDim; d++) s += q[qo + d] * k[ko + d];
        s *= scale;
        scores[j] = o.softcap ? o.softcap * Math.tanh(s / o.softcap) : s;
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = first; j <= last; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let j = first; j <= last; j++) acc += scores[j] * v[j * kvStride + kvh * headDim + d];
        out[qo + d] = acc / sum;
      }
    }
  }
  return out;
}

/** SwiGLU gate: silu(gate) · up, elementwise, with silu(g) = g / (1 + e^(−g)). */
export function siluMul(gate: Float32Array, up: Float32Array): Float32Array {
  check(gate.length === up.length, `siluMul: gate has ${gate.length} elements, up has ${up.length}`);
  const y = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) y[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  return y;
}

/** Round to the nearest IEEE half-precision value (ties to even), returned as a number. */
export function roundF16(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  // Spacing of f16 values around a: 2^(e-10) for normal numbers, 2^-24 below 2^-14.
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 !== 0) r -= 1; // ties to even
  return Math.sign(x) * r * ulp;
}

const gelu = (g: number) => 0.5 * g * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (g + 0.044715 * g * g * g)));

/**
 * GEGLU gate: gelu(gate) · up with HF's `gelu_pytorch_tanh`: 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))).
 * `f16Table`: as llama.cpp's CPU backend computes it (GGML_GELU_FP16: the input rounded to f16, GELU looked up in a
 * table of f16 results, inputs beyond ±10 taken as 0 / x), so the reference can be held to llama.cpp's numbers.
 */
export function geluMul(gate: Float32Array, up: Float32Array, o: { f16Table?: boolean } = {}): Float32Array {
  check(gate.length === up.length, `geluMul: gate has ${gate.length} elements, up has ${up.length}`);
  const y = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i];
    let a: number;
    if (!o.f16Table) a = gelu(g);
    else if (g <= -10) a = 0;
    else if (g >= 10) a = g;
    else a = roundF16(Math.fround(gelu(roundF16(g))));
    y[i] = a * up[i];
  }
  return y;
}

/** Elementwise a + b. */
export function add(a: Float32Array, b: Float32Array): Float32Array {
  check(a.length === b.length, `add: a has ${a.length} elements, b has ${b.length}`);
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = a[i] + b[i];
  return y;
}

/** Row-wise softmax of `rows` rows of `cols` (default: one row of the whole array), max-subtracted. */
export function softmax(x: Float32Array, rows = 1, cols = x.length / rows): Float32Array {
  check(Number.isInteger(cols) && x.length === rows * cols, `softmax: x has ${x.length} elements, expected rows*cols`);
  const y = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let i = 0; i < cols; i++) if (x[o + i] > max) max = x[o + i];
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += Math.exp(x[o + i] - max);
    for (let i = 0; i < cols; i++) y[o + i] = Math.exp(x[o + i] - max) / sum;
  }
  return y;
}

/** Index of the largest element of x[offset .. offset+length); the lowest index wins ties. */
export function argmax(x: ArrayLike<number>, offset = 0, length = x.length - offset): number {
  check(length > 0 && offset >= 0 && offset + length <= x.length, `argmax: range ${offset}+${length} outside an array of ${x.length}`);
  let best = 0;
  for (let i = 1; i < length; i++) if (x[offset + i] > x[offset + best]) best = i;
  return best;
}

/** Rows of `table` [vocab, dim] for each token: returns [tokens.length, dim]. */
export function embedding(table: Float32Array, tokens: readonly number[], dim: number): Float32Array {
  const vocab = table.length / dim;
  check(Number.isInteger(vocab), `embedding: table of ${table.length} elements is not [vocab, ${dim}]`);
  const y = new Float32Array(tokens.length * dim);
  tokens.forEach((tok, t) => {
    check(Number.isInteger(tok) && tok >= 0 && tok < vocab, `embedding: token id ${tok} outside the vocabulary of ${vocab}`);
    y.set(table.subarray(tok * dim, (tok + 1) * dim), t * dim);
  });
  return y;
}
