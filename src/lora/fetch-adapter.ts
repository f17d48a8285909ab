/**
 * Where an adapter comes from → its pairs (adapter-file.ts). URLs go through the same IndexedDB cache and ranged
 * fetches as models (loader/fetch-file.ts), so an adapter downloads once. Accepted:
 * - a GGUF adapter: a `.gguf` URL, a Blob/File, or a picked `.gguf` file;
 * - a PEFT adapter: the URL of its folder (ending in `/`), of `adapter_config.json` or of
 *   `adapter_model.safetensors` (the other file is its sibling), or the two files picked together.
 */
import { fetchFile, DEFAULT_CHUNK_BYTES, DEFAULT_CONCURRENCY } from '../loader/fetch-file.ts';
import { resolveSource, siblingUrl, type SingleSource, type SourceOptions } from '../loader/source.ts';
import type { HfNameMap } from '../families/spec.ts';
import { InvalidRequestError, ModelFormatError } from '../errors.ts';
import { parseGgufAdapter, parsePeftAdapter, type LoraAdapterData, type PeftConfig } from './adapter-file.ts';

/** An adapter file or folder: a URL, a `hf:` id, a Blob/File, or the picked files of a PEFT adapter. */
export type AdapterSource = SingleSource | FileList | readonly File[];

export interface AdapterFetchOptions extends SourceOptions {
  signal?: AbortSignal;
}

/** What reading a PEFT adapter needs to know of the base: its HF name map, and whether its Q/K rows are permuted. */
export interface PeftBase {
  names: HfNameMap;
  qkHeads?: { q: number; k: number };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function urlBytes(url: string, o: AdapterFetchOptions): Promise<Uint8Array> {
  const f = await fetchFile(url, {
    cache: o.cache ?? true, chunkBytes: o.chunkBytes ?? DEFAULT_CHUNK_BYTES, concurrency: o.concurrency ?? DEFAULT_CONCURRENCY, signal: o.signal,
  });
  return readAll(f.stream);
}

function peftConfig(bytes: Uint8Array, name: string): PeftConfig {
  try {
    const c: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof c !== 'object' || c === null) throw new Error('not an object');
    return c as PeftConfig;
  } catch (e) {
    throw new ModelFormatError(`${name} is not a PEFT adapter_config.json (${(e as Error).message}).`, { cause: e });
  }
}

const isGguf = (b: Uint8Array) => b.length >= 4 && String.fromCharCode(b[0], b[1], b[2], b[3]) === 'GGUF';

/** Reads an adapter (a PEFT one's names and Q/K rows made the base's: `base`). */
export async function fetchAdapter(source: AdapterSource, base: PeftBase, o: AdapterFetchOptions = {}): Promise<LoraAdapterData> {
  if (typeof FileList !== 'undefined' && source instanceof FileList) source = [...source];
  if (Array.isArray(source)) {
    const files = source as readonly File[];
    const gguf = files.find((f) => f.name.endsWith('.gguf'));
    if (gguf) return parseGgufAdapter(new Uint8Array(await gguf.arrayBuffer()), gguf.name);
    const config = files.find((f) => f.name === 'adapter_config.json');
    const weights = files.find((f) => f.name.endsWith('.safetensors'));
    if (!config || !weights) {
      throw new InvalidRequestError('Pick a LoRA adapter\'s .gguf file, or a PEFT adapter\'s adapter_config.json and adapter_model.safetensors together.');
    }
    return parsePeftAdapter(peftConfig(new Uint8Array(await config.arrayBuffer()), config.name), new Uint8Array(await weights.arrayBuffer()), base.names, weights.name, base.qkHeads);
  }
  const resolved = resolveSource(source as SingleSource, o.hfBaseUrl);
  if (typeof resolved !== 'string') {
    const bytes = new Uint8Array(await resolved.arrayBuffer());
    if (!isGguf(bytes)) {
      throw new InvalidRequestError('A single adapter file must be a GGUF LoRA; pass a PEFT adapter as its folder URL or as its two picked files.');
    }
    return parseGgufAdapter(bytes, (resolved as File).name ?? 'adapter');
  }
  const path = resolved.split(/[?#]/)[0];
  const peft = path.endsWith('/') || path.endsWith('adapter_config.json') || path.endsWith('.safetensors');
  if (!peft) {
    const bytes = await urlBytes(resolved, o);
    if (!isGguf(bytes)) throw new ModelFormatError(`${resolved} is not a GGUF file; a PEFT adapter is loaded by its folder URL (ending in /) or adapter_config.json.`);
    return parseGgufAdapter(bytes, resolved);
  }
  const configUrl = path.endsWith('.safetensors') ? siblingUrl(resolved, 'adapter_config.json') : path.endsWith('/') ? `${resolved}adapter_config.json` : resolved;
  const weightsUrl = path.endsWith('.safetensors') ? resolved : siblingUrl(configUrl, 'adapter_model.safetensors');
  const [config, weights] = await Promise.all([urlBytes(configUrl, o), urlBytes(weightsUrl, o)]);
  return parsePeftAdapter(peftConfig(config, configUrl), weights, base.names, weightsUrl, base.qkHeads);
}
