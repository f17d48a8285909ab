// Output side of a projection, shared by matvec.wgsl and matmul.wgsl: y, the optional bias, and how a result is
// written: ACCUMULATE (y += v: the residual add), GATE_MUL (y = silu(y) * v: SwiGLU, the up projection after the
// gate projection wrote y), else y = v.
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
#if HAS_BIAS
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

fn write_out(o: u32, v: f32) {
#if ACCUMULATE
  y[o] += v;
#elif GATE_MUL
  let gt = y[o];
  y[o] = gt / (1.0 + exp(-gt)) * v;
#else
  y[o] = v;
#endif
}
