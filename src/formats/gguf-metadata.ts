/**
 * Typed reads of GGUF metadata (the map formats/gguf.ts parses). Each throws a ModelFormatError naming the key when it
 * is missing (and no fallback was given) or has the wrong type, so a badly converted file fails with the key to look
 * at. Pass `undefined` as the fallback to get `T | undefined` for optional keys.
 */
import { ModelFormatError } from '../errors.ts';
import type { GgufMetadata } from './gguf.ts';

function missing(key: string): never {
  throw new ModelFormatError(`GGUF metadata key "${key}" is missing; the file was not converted with the metadata llmo needs.`);
}

function wrongType(key: string, want: string, got: unknown): never {
  const desc = Array.isArray(got) ? 'an array' : ArrayBuffer.isView(got) ? `a ${got.constructor.name}` : `a ${typeof got}`;
  throw new ModelFormatError(`GGUF metadata key "${key}" should be ${want} but is ${desc}.`);
}

export function ggufString(meta: GgufMetadata, key: string): string;
export function ggufString<F>(meta: GgufMetadata, key: string, fallback: F): string | F;
export function ggufString(meta: GgufMetadata, key: string, ...fallback: unknown[]): unknown {
  const v = meta.get(key);
  if (v === undefined) return fallback.length ? fallback[0] : missing(key);
  if (typeof v !== 'string') wrongType(key, 'a string', v);
  return v;
}

/** Any numeric scalar (integer or float); u64/i64 values beyond 2^53 are rejected. */
export function ggufNumber(meta: GgufMetadata, key: string): number;
export function ggufNumber<F>(meta: GgufMetadata, key: string, fallback: F): number | F;
export function ggufNumber(meta: GgufMetadata, key: string, ...fallback: unknown[]): unknown {
  const v = meta.get(key);
  if (v === undefined) return fallback.length ? fallback[0] : missing(key);
  if (typeof v === 'bigint') throw new ModelFormatError(`GGUF metadata key "${key}" is ${v}, too large to be a usable number.`);
  if (typeof v !== 'number') wrongType(key, 'a number', v);
  return v;
}

export function ggufBool(meta: GgufMetadata, key: string): boolean;
export function ggufBool<F>(meta: GgufMetadata, key: string, fallback: F): boolean | F;
export function ggufBool(meta: GgufMetadata, key: string, ...fallback: unknown[]): unknown {
  const v = meta.get(key);
  if (v === undefined) return fallback.length ? fallback[0] : missing(key);
  if (typeof v !== 'boolean') wrongType(key, 'a bool', v);
  return v;
}

export function ggufStringArray(meta: GgufMetadata, key: string): string[];
export function ggufStringArray<F>(meta: GgufMetadata, key: string, fallback: F): string[] | F;
export function ggufStringArray(meta: GgufMetadata, key: string, ...fallback: unknown[]): unknown {
  const v = meta.get(key);
  if (v === undefined) return fallback.length ? fallback[0] : missing(key);
  if (!Array.isArray(v) || (v.length > 0 && typeof v[0] !== 'string')) wrongType(key, 'an array of strings', v);
  return v;
}

/** A numeric array of any element type (typed array or plain array of numbers). */
export function ggufNumberArray(meta: GgufMetadata, key: string): ArrayLike<number>;
export function ggufNumberArray<F>(meta: GgufMetadata, key: string, fallback: F): ArrayLike<number> | F;
export function ggufNumberArray(meta: GgufMetadata, key: string, ...fallback: unknown[]): unknown {
  const v = meta.get(key);
  if (v === undefined) return fallback.length ? fallback[0] : missing(key);
  if (ArrayBuffer.isView(v)) return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
  return wrongType(key, 'an array of numbers', v);
}
