/**
 * Perplexity as llama.cpp's `perplexity` tool computes it: the token stream (tokenized with BOS) is cut into
 * consecutive windows of nCtx tokens, the first token of each window is replaced by BOS, and only the second
 * half is scored: logits at positions nCtx/2 .. nCtx−2 predict the tokens after them.
 */

/** Windows of nCtx tokens (whole windows only), each starting with BOS. */
export function perplexityWindows(tokens: readonly number[], nCtx: number, bosId: number): number[][] {
  const windows: number[][] = [];
  for (let start = 0; start + nCtx <= tokens.length; start += nCtx) {
    const w = tokens.slice(start, start + nCtx);
    w[0] = bosId;
    windows.push(w);
  }
  return windows;
}

/** Summed negative log-likelihood (natural log) of a window's second half, from its logits [nCtx, vocab]. */
export function windowNll(logits: Float32Array, window: readonly number[], vocab: number): { nll: number; count: number } {
  const nCtx = window.length;
  let nll = 0;
  let count = 0;
  for (let j = Math.floor(nCtx / 2); j < nCtx - 1; j++) {
    const row = logits.subarray(j * vocab, (j + 1) * vocab);
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - max);
    nll -= row[window[j + 1]] - max - Math.log(sum);
    count++;
  }
  return { nll, count };
}

/** Perplexity over the given windows, where `logitsOf(window)` returns the logits of every token of it. */
export function perplexity(windows: readonly number[][], vocab: number, logitsOf: (window: number[]) => Float32Array): number {
  let nll = 0;
  let count = 0;
  for (const w of windows) {
    const r = windowNll(logitsOf(w), w, vocab);
    nll += r.nll;
    count += r.count;
  }
  return Math.exp(nll / count);
}
