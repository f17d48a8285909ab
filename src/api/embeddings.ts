/**
 * Page side of embeddings: `engine.embed(texts, options)` (Float32Arrays) and the OpenAI-shaped
 * `engine.embeddings.create({ input, dimensions, encoding_format })`. The inputs (minus the AbortSignal, which cannot
 * cross postMessage) go to the worker in one call; an abort is forwarded by request id and lands between GPU batches.
 */
import { AbortError, InvalidRequestError } from '../errors.ts';
import { vectorToBase64 } from './embed-vectors.ts';
import type { EmbedRequestOptions, EmbedResult } from '../runtime/embed-core.ts';

export interface EmbedOptions extends EmbedRequestOptions {
  signal?: AbortSignal;
}

/** OpenAI `POST /v1/embeddings` request (llmo extensions: `truncate`, `instruction`, `signal`). */
export interface EmbeddingCreateRequest {
  /** Texts, or token-id lists (embedded as given, no [CLS]/[SEP] added). */
  input: string | string[] | number[] | number[][];
  /** Ignored: the engine's model is used (reported back in `model`). */
  model?: string;
  /** Keep the first N values, then renormalise (Matryoshka models). */
  dimensions?: number;
  /** 'float' (default): number[]; 'base64': the little-endian float32 bytes, base64-encoded. */
  encoding_format?: 'float' | 'base64';
  user?: string;
  truncate?: boolean;
  instruction?: string;
  signal?: AbortSignal;
}

export interface Embedding {
  object: 'embedding';
  index: number;
  embedding: number[] | string;
}

export interface CreateEmbeddingResponse {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface Embeddings {
  create(req: EmbeddingCreateRequest): Promise<CreateEmbeddingResponse>;
}

/** What the page side needs from the engine's message surface. */
export interface EmbedTransport {
  embed(id: number, inputs: (string | number[])[], options: EmbedRequestOptions): Promise<EmbedResult>;
  abort(id: number): Promise<void> | void;
  check(): void;
  modelName(): string;
}

let nextId = 1 << 24;

/** Runs one embed request with its signal wired to the worker's abort. */
export async function embedCall(t: EmbedTransport, inputs: (string | number[])[], options: EmbedOptions = {}): Promise<EmbedResult> {
  t.check();
  const { signal, ...rest } = options;
  if (signal?.aborted) throw new AbortError('The signal was already aborted.');
  const id = nextId++;
  const stop = () => void t.abort(id);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await t.embed(id, inputs, rest);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/** OpenAI's `input` as a list of inputs: a string or one id list is one input; an empty list is refused. */
export function inputList(input: EmbeddingCreateRequest['input']): (string | number[])[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) {
    throw new InvalidRequestError('input must be a non-empty string, list of strings, token-id list or list of token-id lists.');
  }
  if (input.every((x) => typeof x === 'number')) return [input as number[]];
  if (input.every((x) => typeof x === 'string' || Array.isArray(x))) return input as (string | number[])[];
  throw new InvalidRequestError('input mixes numbers with strings or lists: give texts, or token-id lists.');
}

export function embeddings(t: EmbedTransport): Embeddings {
  return {
    async create(req: EmbeddingCreateRequest): Promise<CreateEmbeddingResponse> {
      const format = req?.encoding_format ?? 'float';
      if (format !== 'float' && format !== 'base64') throw new InvalidRequestError(`encoding_format "${String(format)}" is not 'float' or 'base64'.`);
      const r = await embedCall(t, inputList(req?.input), {
        dimensions: req.dimensions ?? undefined, truncate: req.truncate, instruction: req.instruction, signal: req.signal, normalize: true,
      });
      return {
        object: 'list',
        data: r.vectors.map((v, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? vectorToBase64(v) : Array.from(v) })),
        model: t.modelName(),
        usage: { prompt_tokens: r.promptTokens, total_tokens: r.promptTokens },
      };
    },
  };
}
