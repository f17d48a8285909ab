// Activations shared by projection epilogues (linear_out.wgsl: GELU gate, matvec SOFTCAP) and attention (logit
// soft-capping). WGSL's tanh() has no precision bound worth the name (and overflows to NaN on some drivers for large
// inputs), so tanh is built from exp() of a non-positive argument, with a series near 0 where 1 - e^-2|x| cancels.
fn tanh_acc(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.125) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333 + x2 * (0.13333333 + x2 * -0.053968254)));
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}

// GELU, tanh approximation (HF gelu_pytorch_tanh, ggml_gelu): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
fn gelu_tanh(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_acc(0.7978845608028654 * x * (1.0 + 0.044715 * x * x)));
}

// Soft-capping (gemma2): cap * tanh(x / cap).
fn softcap(x: f32, cap: f32) -> f32 {
  return cap * tanh_acc(x / cap);
}
