/**
 * A generate request checked against the loaded model before any GPU work, so a bad one fails with an
 * InvalidRequestError that says what to change: prompt ids in the vocabulary and shorter than the context, `logprobs`
 * in range, and, for JSON or citation markers, the grammar built and its shortest output within the tokens allowed.
 */
import { JsonConstraint } from '../constrain/json-constraint.ts';
import { CitationConstraint } from '../constrain/citation-markers.ts';
import { anyObjectNode, compileSchema } from '../constrain/schema.ts';
import { vocabTrie } from '../constrain/token-trie.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { Constraint } from './token-output.ts';
import { checkTokenIds } from './generation-helpers.ts';
import { InvalidRequestError } from '../errors.ts';
import type { GenerateOptions, JsonFormat } from './engine-types.ts';

export interface CheckedRequest {
  /** The prompt's token ids. */
  ids: number[];
  /** `logprobs`: alternatives per token (undefined: no log-probs). */
  nTop?: number;
  constraint?: Constraint;
  /** The most tokens the request may make: `maxTokens` (default 256) within the context left after the prompt. */
  budget: number;
}

/** `ctx`: the context length the KV cache holds. */
export function checkRequest(tok: Tokenizer, vocabSize: number, ctx: number, prompt: string | number[], o: GenerateOptions): CheckedRequest {
  const ids = typeof prompt === 'string' ? tok.encode(prompt, { addBos: o.addBos }) : prompt.slice();
  if (ids.length === 0) throw new InvalidRequestError('The prompt is empty: pass some text (or token ids).');
  checkTokenIds(ids, vocabSize, 'The prompt');
  const maxTokens = o.maxTokens ?? 256;
  if (ids.length >= ctx) {
    throw new InvalidRequestError(`The prompt has ${ids.length} tokens but the context holds ${ctx}; shorten it or load with a larger contextLength.`);
  }
  const nTop = o.logprobs;
  if (nTop !== undefined && (!Number.isInteger(nTop) || nTop < 0 || nTop > 20)) {
    throw new InvalidRequestError(`logprobs must be an integer from 0 to 20; got ${nTop}.`);
  }
  const constraint = o.json ? jsonConstraint(tok, o.json) : o.citations ? new CitationConstraint(o.citations.sources, vocabTrie(tok), tok.eosIds) : undefined;
  const budget = Math.min(maxTokens, ctx - ids.length);
  if (constraint && constraint.minRemaining > budget) {
    throw new InvalidRequestError(
      `The shortest output that matches the JSON schema needs up to ${constraint.minRemaining} tokens but only ${budget} may be generated; ` +
        'raise max_tokens (or shorten the prompt).',
    );
  }
  return { ids, nTop, constraint, budget };
}

function jsonConstraint(tok: Tokenizer, f: JsonFormat): JsonConstraint {
  const root = f.type === 'json_object' ? anyObjectNode() : compileSchema(f.schema);
  return new JsonConstraint(root, vocabTrie(tok), tok.eosIds);
}
