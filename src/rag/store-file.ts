/**
 * The export file of a store: JSON with vectors as base64 of their little-endian f32 bytes (a third of the size of
 * number arrays, and exact). `format` and `version` let a later llmo refuse or convert older files.
 */
import { InvalidRequestError } from '../errors.ts';
import type { ChunkRecord, StoredDoc } from './types.ts';

export interface StoreConfig {
  /** Name of the embedder whose vectors the store holds (null: keyword-only so far). */
  embedder: string | null;
  dims: number | null;
  maxTokens: number;
  overlapTokens: number;
}

export interface StoreFile {
  config: StoreConfig;
  docs: StoredDoc[];
  chunks: ChunkRecord[];
}

const FORMAT = 'llmo-store';
const VERSION = 1;

export function encodeStore(f: StoreFile): string {
  return JSON.stringify({
    format: FORMAT, version: VERSION, config: f.config, docs: f.docs,
    chunks: f.chunks.map((c) => ({ ...c, vector: c.vector ? toBase64(c.vector) : null })),
  });
}

export function decodeStore(text: string): StoreFile {
  let v: { format?: unknown; version?: unknown; config?: StoreConfig; docs?: StoredDoc[]; chunks?: (Omit<ChunkRecord, 'vector'> & { vector: string | null })[] };
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InvalidRequestError('This file is not a store export (not JSON); pick a file written by store.export().', { cause: e });
  }
  if (v?.format !== FORMAT) throw new InvalidRequestError('This file is not a store export (no "format": "llmo-store"); pick a file written by store.export().');
  if (v.version !== VERSION) throw new InvalidRequestError(`This store export is version ${String(v.version)}; this llmo reads version ${VERSION}. Export it again with this version.`);
  if (!v.config || !Array.isArray(v.docs) || !Array.isArray(v.chunks)) throw new InvalidRequestError('This store export is incomplete (config, docs or chunks missing); export it again.');
  return { config: v.config, docs: v.docs, chunks: v.chunks.map((c) => ({ ...c, vector: c.vector ? fromBase64(c.vector) : null })) };
}

function toBase64(v: Float32Array): string {
  const b = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(s: string): Float32Array {
  const bin = atob(s);
  const b = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  return new Float32Array(b.buffer);
}
