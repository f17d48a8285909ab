// Output side of a projection, shared by matvec.wgsl and matmul.wgsl: y, the optional bias, and how a result is
// written, chosen at run time by the kernel's `params.out_mode` (one pipeline serves every mode, which cuts the
// number of pipelines compiled at load; the branch is uniform and outside the dot-product loops):
//   OUT_WRITE: y = v; OUT_ACCUMULATE: y += v (the residual add); OUT_GATE_MUL: y = silu(y) * v (SwiGLU: the up
//   projection after the gate projection wrote y); OUT_GELU: y = gelu(v), the exact erf GELU (BERT's FFN);
//   OUT_GELU_MUL: y = gelu_tanh(y) * v (GEGLU, gemma: activations.wgsl).
// `params.out_at_pos` != 0: output rows start at the step's pos0 (K/V projections write into the KV cache).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
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

// First output row of the step's token t.
fn out_row(t: u32) -> u32 {
  return select(t, step.pos0 + t, params.out_at_pos != 0u);
}
