/**
 * What `load()` accepts and how it becomes a list of URLs (or one Blob): plain URLs, Hugging Face ids
 * (`hf:owner/repo[@revision]/path/file.gguf` or `{ hf, file, revision }`), and split GGUF files
 * (`name-00001-of-00003.gguf` → all three shards). Pure functions; no I/O. Picked files: `picked-files.ts`.
 */
import { InvalidRequestError } from '../errors.ts';
/** Several local files (a `FileList` or `File[]`) that make one model, matched by name (loader/picked-files.ts). */
export type PickedFiles = FileList | readonly File[];

/** A file in a Hugging Face repository. `revision` defaults to `main`. */
export interface HfFileSource {
  hf: string;
  file: string;
  revision?: string;
}

/** One file that names a model: a URL, a Hugging Face id, or a picked File/Blob. */
export type SingleSource = string | URL | Blob | HfFileSource;

/**
 * What a model can be loaded from: a URL, a Hugging Face id, a picked File/Blob, or several picked files (a model
 * folder's files: its siblings are found by name, see `picked-files.ts`).
 */
export type ModelSource = SingleSource | PickedFiles;

/** Where and how the bytes are fetched; part of `load()`'s options. */
export interface SourceOptions {
  /** Hub base for `hf:` ids (a mirror or a local server). Default https://huggingface.co */
  hfBaseUrl?: string;
  /** Keep downloaded files in IndexedDB and load from there next time (default true). */
  cache?: boolean;
  /** Expected sha256 (hex) of the model file; a mismatch fails the load and drops the cached copy. */
  sha256?: string;
  /** Cache chunk size in bytes (default 4 MiB); also the size of each parallel ranged request. */
  chunkBytes?: number;
  /** Parallel ranged requests per file (default 3). */
  concurrency?: number;
}

/**
 * A source together with its options, as one structured-cloneable object: this is what crosses into the worker, so
 * the engine's own load options need not know about fetching and caching.
 */
export interface SourceRequest extends SourceOptions {
  llmoSource: ModelSource;
}

export const DEFAULT_HF_BASE = 'https://huggingface.co';

export function isSourceRequest(v: unknown): v is SourceRequest {
  return typeof v === 'object' && v !== null && 'llmoSource' in v;
}

export function isHfFileSource(v: unknown): v is HfFileSource {
  return typeof v === 'object' && v !== null && typeof (v as HfFileSource).hf === 'string' && typeof (v as HfFileSource).file === 'string';
}

/** Parses `hf:owner/repo[@revision]/path/to/file`. */
export function parseHfId(id: string): HfFileSource {
  const m = /^hf:([^/@\s]+)\/([^/@\s]+)(?:@([^/\s]+))?\/(.+)$/.exec(id);
  if (!m) {
    throw new InvalidRequestError(
      `"${id}" is not a Hugging Face file id. Write hf:owner/repo/path/file.gguf or hf:owner/repo@revision/path/file.gguf.`,
    );
  }
  return { hf: `${m[1]}/${m[2]}`, file: m[4], revision: m[3] ? decodeURIComponent(m[3]) : undefined };
}

/** `<base>/<owner>/<repo>/resolve/<revision>/<path>`, the hub's download URL for one file at one revision. */
export function hfResolveUrl(src: HfFileSource, baseUrl = DEFAULT_HF_BASE): string {
  const repo = src.hf.split('/');
  if (repo.length !== 2 || !repo[0] || !repo[1]) {
    throw new InvalidRequestError(`"${src.hf}" is not a Hugging Face repository id; write "owner/repo".`);
  }
  const file = src.file.replace(/^\/+/, '');
  if (!file) throw new InvalidRequestError(`No file given for the Hugging Face repository ${src.hf}.`);
  const base = baseUrl.replace(/\/+$/, '');
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${base}/${enc(src.hf)}/resolve/${encodeURIComponent(src.revision ?? 'main')}/${enc(file)}`;
}

/** The URL (or Blob) a source names, with `hf:` ids resolved. */
export function resolveSource(source: SingleSource, hfBaseUrl?: string): string | Blob {
  if (typeof Blob !== 'undefined' && source instanceof Blob) return source;
  if (isHfFileSource(source)) return hfResolveUrl(source, hfBaseUrl);
  const s = String(source);
  return s.startsWith('hf:') ? hfResolveUrl(parseHfId(s), hfBaseUrl) : s;
}

/**
 * A shard's name: `<stem>-00001-of-00003.gguf` (llama.cpp's gguf-split) or `.safetensors` (HF). The one place this
 * pattern is written: the loader, picked files and llmo/node all go through the helpers below.
 */
const SHARD_RE = /-(\d{5})-of-(\d{5})\.(gguf|safetensors)$/;

export interface ShardName {
  index: number;
  count: number;
  ext: 'gguf' | 'safetensors';
}

/** Shard number, count and kind of a shard's name or URL (query ignored); undefined for other names. */
export function shardInfo(name: string): ShardName | undefined {
  const m = SHARD_RE.exec(name.split(/[?#]/)[0]);
  return m ? { index: Number(m[1]), count: Number(m[2]), ext: m[3] as ShardName['ext'] } : undefined;
}

/** The name with its shard number taken out (`x-of-00003.gguf`): the same for every shard of one model. */
export function shardGroup(name: string): string {
  return name.replace(SHARD_RE, '-of-$2.$3');
}

/** The name without shard number and extension (`x` for `x-00001-of-00003.gguf` and for `x.gguf`). */
export function modelStem(name: string): string {
  return name.replace(SHARD_RE, '.$3').replace(/\.(gguf|safetensors(\.index\.json)?)$/, '');
}

/** Every shard's name or URL of a sharded model, given any one of them (query string kept); else just it. */
export function shardNames(url: string): string[] {
  const [path, ...rest] = url.split(/(?=[?#])/);
  const info = shardInfo(path);
  if (!info) return [url];
  if (info.count < 1 || info.index < 1 || info.index > info.count) {
    throw new InvalidRequestError(`${url}: shard ${info.index} of ${info.count} is not a valid shard name.`);
  }
  const pad = (n: number) => String(n).padStart(5, '0');
  return Array.from({ length: info.count }, (_, i) => path.replace(SHARD_RE, `-${pad(i + 1)}-of-${pad(info.count)}.${info.ext}`) + rest.join(''));
}

/** For a split GGUF name (`…-00001-of-00003.gguf`): its shard number and count; undefined for other names. */
export function splitGgufInfo(url: string): { index: number; count: number } | undefined {
  const s = shardInfo(url);
  return s?.ext === 'gguf' ? { index: s.index, count: s.count } : undefined;
}

/** Every shard's URL of a split GGUF, given any one shard's URL (query string kept). */
export function splitGgufUrls(url: string): string[] {
  return splitGgufInfo(url) ? shardNames(url) : [url];
}

/** The URL of a file beside another (`config.json` next to `model.safetensors`), query string dropped. */
export function siblingUrl(url: string, name: string): string {
  return url.split(/[?#]/)[0].replace(/[^/]*$/, '') + name;
}

/** Byte range [start, end) of chunk `i` of a file of `size` bytes cut in `chunkBytes` pieces. */
export function chunkRange(i: number, size: number, chunkBytes: number): { start: number; end: number } {
  const start = i * chunkBytes;
  return { start, end: Math.min(size, start + chunkBytes) };
}

export function chunkCount(size: number, chunkBytes: number): number {
  return Math.ceil(size / chunkBytes);
}

/**
 * What the loader accepts: a public source (URL, `hf:` id, `{ hf, file }`, File/Blob, picked files), or a
 * SourceRequest that carries the source together with its fetch/cache options (what `load()` sends into the worker).
 */
export type LoadSource = ModelSource | SourceRequest;
