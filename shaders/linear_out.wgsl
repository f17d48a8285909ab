// Output side of a projection, shared by matvec.wgsl and matmul.wgsl: y, the optional bias, and how a result is
// written, chosen at run time by the kernel's `params.out_mode` (one pipeline serves every mode, which cuts the
// number of pipelines compiled at load; the branch is uniform and outside the dot-product loops):
//   OUT_WRITE: y = v; OUT_ACCUMULATE: y += v (the residual add); OUT_GATE_MUL: y = silu(y) * v (SwiGLU: the up
//   projection after the gate projection wrote y); OUT_GELU: y = gelu(v), the exact erf GELU (BERT's FFN);
//   OUT_GELU_MUL: y = gelu_tanh(y) * v (GEGLU, gemma: activations.wgsl).
// `params.out_at_pos` bit 0: output rows start at the step's pos0 (K/V projections write into the KV cache).
// Fused projections (one weight whose rows are several projections', src/runtime/projection.ts):
//   SPLIT (+ SPLIT3): weight rows from params.split0 (and from params.split1) go to their own buffer y1 (y2), plain
//     writes, at the step's positions when out_at_pos bit 1 (bit 2) is set (fused q/k/v: k and v into the KV cache).
//     Without SPLIT3 the host sets split1 = n.
//   GLU (+ GLU_GELU): rows [0, n/2) are a gate, [n/2, n) its up projection; the kernel computes row j and n/2 + j side
//     by side and writes y[j] = act(gate)·up (silu, or gelu_tanh with GLU_GELU): SwiGLU/GEGLU in one projection.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif
#if SPLIT
@group(0) @binding(10) var<storage, read_write> y1: array<f32>;
#endif
#if SPLIT3
@group(0) @binding(11) var<storage, read_write> y2: array<f32>;
#endif
#if LORA
// LoRA (src/lora/): lora = [u: A·x of the step's rows, lora_r per row | s: lora_r scales | Bᵀ: lora_r rows of n],
// u written by the dispatch before this one (a plain projection with A as its weight, src/lora/lora-kernels.ts).
// The low-rank term is added to a weight row's result before the epilogue, so RoPE, the GLU product, split outputs
// and KV-cache rows all see W·x + scale·B·A·x.
@group(0) @binding(12) var<storage, read> lora: array<f32>;

// scale·B·(A·x) of weight row `row` for the step's token t: Σ_j Bᵀ[j, row]·s[j]·u[t, j].
fn lora_delta(row: u32, t: u32) -> f32 {
  let r = params.lora_r;
  let s0 = params.lora_off;
  let u0 = t * r;
  var d = 0.0;
  for (var j = 0u; j < r; j++) {
    d += lora[s0 + r + j * params.n + row] * lora[s0 + j] * lora[u0 + j];
  }
  return d;
}
#endif

const OUT_WRITE: u32 = 0u;
const OUT_ACCUMULATE: u32 = 1u;
const OUT_GATE_MUL: u32 = 2u;
const OUT_GELU: u32 = 3u;
const OUT_GELU_MUL: u32 = 4u;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), so gelu(x) = 0.5·x·(1 + erf(x/√2)) within ~1e-7·|x|.
fn erf_as(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - p * exp(-z * z));
}

fn write_out(o: u32, v: f32) {
  switch (params.out_mode) {
    case OUT_ACCUMULATE: { y[o] += v; }
    case OUT_GATE_MUL: {
      let gt = y[o];
      y[o] = gt / (1.0 + exp(-gt)) * v;
    }
    case OUT_GELU: { y[o] = 0.5 * v * (1.0 + erf_as(v * 0.7071067811865476)); }
    case OUT_GELU_MUL: { y[o] = gelu_tanh(y[o]) * v; }
    default: { y[o] = v; }
  }
}

// Output row (token) of segment `seg` (0: y, 1: y1, 2: y2): the position p when its out_at_pos bit is set, else r.
fn seg_row(r: u32, p: u32, seg: u32) -> u32 {
  return select(r, p, ((params.out_at_pos >> seg) & 1u) != 0u);
}

// Values per output row of y.
fn y_rows() -> u32 {
#if GLU
  return params.n >> 1u;
#elif SPLIT
  return params.split0;
#else
  return params.n;
#endif
}

// The gated product of a GLU pair.
fn glu(g: f32, u: f32) -> f32 {
#if GLU_GELU
  return gelu_tanh(g) * u;
#else
  return g / (1.0 + exp(-g)) * u;
#endif
}

// Writes result v of weight row `row` (GLU: of pair `row`) for output row r / position p (see seg_row): matmul
// passes (token m, pos0 + m), matvec (0, the last token's position).
fn put(r: u32, p: u32, row: u32, v: f32) {
#if SPLIT3
  if (row >= params.split1) { y2[seg_row(r, p, 2u) * (params.n - params.split1) + row - params.split1] = v; return; }
#endif
#if SPLIT
  if (row >= params.split0) { y1[seg_row(r, p, 1u) * (params.split1 - params.split0) + row - params.split0] = v; return; }
#endif
  write_out(seg_row(r, p, 0u) * y_rows() + row, v);
}
