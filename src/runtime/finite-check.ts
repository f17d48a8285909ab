/**
 * NaN or infinite logits mean the weights (or the activations they produce) hold non-finite values. The GPU argmax
 * then answers 0xFFFFFFFF (no value beats its start), which would surface later as an out-of-vocabulary token from
 * the tokenizer; this turns it into an error that points at the model instead.
 */
import { ModelFormatError } from '../errors.ts';

function nonFinite(pos: number, what: string): ModelFormatError {
  return new ModelFormatError(
    `The model computed ${what} at position ${pos}: its weights hold NaN or infinite values (a damaged or badly ` +
      'converted file), or its activations overflowed. Check the file against its published sha256, or try another ' +
      'quantization of the model.',
  );
}

/** Throws unless every argmax is a vocabulary id and every logit given is finite. `pos0`: position of the first row. */
export function checkFinite(tokens: ArrayLike<number>, vocab: number, pos0: number, logits?: Float32Array): void {
  for (let r = 0; r < tokens.length; r++) {
    if (!(tokens[r] < vocab)) throw nonFinite(pos0 + r, 'no finite logit');
  }
  if (!logits) return;
  for (let i = 0; i < logits.length; i++) {
    if (!Number.isFinite(logits[i])) throw nonFinite(pos0 + Math.floor(i / vocab), `a ${logits[i]} logit (token ${i % vocab})`);
  }
}
