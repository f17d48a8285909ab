/**
 * A GGUF model's description from its parsed headers (one per file of a split model): the split check, config,
 * tensor checks and tokenizer, everything the loader decides before reading any tensor data. No I/O and no GPU, so
 * the corrupt-file suite runs this exact path in Node over hundreds of damaged files.
 */
import type { ModelConfig, TensorInfo } from '../model/types.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import type { GgufHeader } from '../formats/gguf.ts';
import { ggufString } from '../formats/gguf-metadata.ts';
import { configFromGguf } from '../formats/model-config.ts';
import { validateModel } from '../formats/model-checks.ts';
import { tokenizerFromGguf } from '../tokenizer/gguf-tokenizer.ts';
import { ModelFormatError } from '../errors.ts';

export interface GgufModel {
  config: ModelConfig;
  tokenizer: Tokenizer;
  chatTemplate?: string;
  /** `general.name`, if the file has one. */
  name?: string;
  /** Each file's tensors (offsets within that file). */
  perPart: TensorInfo[][];
}

/** `headers[i]` is file `i`'s header; `firstName` names the first file in errors. */
export function describeGguf(headers: readonly GgufHeader[], firstName: string): GgufModel {
  const splitCount = Number(headers[0].metadata.get('split.count') ?? 1);
  if (splitCount !== headers.length) {
    throw new ModelFormatError(`${firstName} says the model is split in ${splitCount} files, but ${headers.length} were given: load the first shard's URL (…-00001-of-0000N.gguf).`);
  }
  const perPart = headers.map((h) => h.tensors);
  const header = { ...headers[0], tensors: perPart.flat() };
  const config = configFromGguf(header);
  validateModel(config, header.tensors);
  return {
    config,
    tokenizer: tokenizerFromGguf(header.metadata),
    chatTemplate: ggufString(header.metadata, 'tokenizer.chat_template', undefined),
    name: ggufString(header.metadata, 'general.name', undefined),
    perPart,
  };
}
