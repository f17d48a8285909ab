/**
 * What an embed request asks for, and its inputs as token ids: shared by the encoder core (embed-core.ts) and decoder
 * embeddings (EngineCore.embed).
 */
import type { LoadedModel } from '../loader/load-model.ts';
import type { VectorOptions } from '../api/embed-vectors.ts';
import { InvalidRequestError } from '../errors.ts';

export interface EmbedRequestOptions extends VectorOptions {
  /** Cut texts longer than the model's context instead of failing (default false). */
  truncate?: boolean;
  /** Text put before every input (e.g. an instruction or "query: " prefix the model was trained with). */
  instruction?: string;
}

export interface EmbedResult {
  vectors: Float32Array[];
  /** Tokens embedded, over all inputs. */
  promptTokens: number;
}

/**
 * Token ids of each input: texts framed by the tokenizer (`instruction` first; too long: InvalidRequestError, or cut
 * keeping the trailing framing tokens when `truncate`), id lists as given. Shared by encoder and decoder embedding.
 * `end` (decoder embeddings: the tokenizer's end-of-text token) is appended to every text that does not end with it.
 */
export function embedInputIds(
  model: Pick<LoadedModel, 'tokenizer' | 'config' | 'name'>, inputs: readonly (string | readonly number[])[], o: EmbedRequestOptions, maxTokens: number,
  end?: number,
): number[][] {
  if (inputs.length === 0) throw new InvalidRequestError('input is empty: give at least one text (or token-id list) to embed.');
  const tok = model.tokenizer;
  // The framing tokens around any text ([CLS] … [SEP], or the end token): a cut keeps the trailing ones.
  const framed = (text: string) => {
    const ids = tok.encode(text);
    if (end !== undefined && ids.at(-1) !== end) ids.push(end);
    return ids;
  };
  const tail = framed('').slice(tok.addBosByDefault ? 1 : 0);
  return inputs.map((input, i) => {
    if (typeof input === 'string') {
      if (input.length === 0) throw new InvalidRequestError(`input[${i}] is an empty string; every input must have text.`);
      let ids = framed((o.instruction ?? '') + input);
      if (ids.length > maxTokens) {
        if (!o.truncate) {
          throw new InvalidRequestError(
            `input[${i}] is ${ids.length} tokens; ${model.name} embeds at most ${maxTokens}. Shorten or split it, or pass truncate: true to embed its first ${maxTokens} tokens.`,
          );
        }
        ids = [...ids.slice(0, maxTokens - tail.length), ...tail];
      }
      return ids;
    }
    if (!Array.isArray(input) || input.length === 0) throw new InvalidRequestError(`input[${i}] is an empty token list.`);
    const bad = input.find((id) => !Number.isInteger(id) || id < 0 || id >= model.config.vocabSize);
    if (bad !== undefined) throw new InvalidRequestError(`input[${i}] has token id ${bad}, outside the vocabulary of ${model.config.vocabSize}.`);
    if (input.length > maxTokens) {
      if (!o.truncate) throw new InvalidRequestError(`input[${i}] is ${input.length} tokens; the model embeds at most ${maxTokens} (or pass truncate: true).`);
      return input.slice(0, maxTokens);
    }
    return [...input];
  });
}


/** Consecutive runs of sequences whose lengths sum to at most `maxTokens` (one GPU submission each), in order. */
export function packBatches<T extends { length: number }>(seqs: readonly T[], maxTokens: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < seqs.length;) {
    let j = i, n = 0;
    while (j < seqs.length && (j === i || n + seqs[j].length <= maxTokens)) n += seqs[j++].length;
    out.push(seqs.slice(i, j));
    i = j;
  }
  return out;
}
