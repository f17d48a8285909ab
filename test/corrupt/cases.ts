/**
 * The seeded corrupt-file generator: from one well-formed GGUF, a few hundred damaged copies, each damaging one thing
 * (empty, garbage, wrong magic, truncation, huge counts and lengths, wrong value types, absurd hyperparameters, bad
 * dims / types / offsets, NaN and Inf weights, random byte flips). Same seed, same files, in Node and in the browser.
 * Each case is made on demand (`make()`), so only one copy of the model is held at a time.
 */
import { mulberry32 } from '../../src/util/random.ts';
import { ggufLayout, type KvField } from './gguf-layout.ts';

export interface CorruptCase {
  /** Unique, says what was damaged (`f:block_count=4294967295`). */
  name: string;
  /** `data` cases keep a valid header (only tensor bytes change): they load, and only the GPU run can tell. */
  group: 'file' | 'truncate' | 'count' | 'kv' | 'meta' | 'tensor' | 'data' | 'flip';
  make: () => Uint8Array;
}

const U64_HUGE = [2n ** 28n + 1n, 2n ** 32n, 2n ** 40n, 2n ** 63n, 2n ** 64n - 1n];
const SCALAR_WIDTH: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const FLOAT_TYPES = new Set([6, 12]);
// Hyperparameters a corrupt header most often gets wrong, and values that have broken loaders.
const INT_VALUES = [0, 1, 3, 7, 1048576, 0x7fffffff, 0xffffffff];
const FLOAT_VALUES = [0, -1, NaN, Infinity, 1e30];

export function corruptCases(base: Uint8Array, label: string, seed: number): CorruptCase[] {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const layout = ggufLayout(base);
  const cases: CorruptCase[] = [];
  const names = new Set<string>();
  const add = (group: CorruptCase['group'], name: string, make: () => Uint8Array) => {
    const full = `${label} ${group}:${name}`;
    if (!names.has(full)) cases.push({ name: full, group, make }); // random picks may repeat a case
    names.add(full);
  };
  /** A copy of the model with `edit` applied through a DataView. */
  const edited = (edit: (v: DataView, b: Uint8Array) => void) => () => {
    const b = base.slice();
    edit(new DataView(b.buffer), b);
    return b;
  };
  const setScalar = (v: DataView, pos: number, type: number, x: number) => {
    switch (type) {
      case 0: case 7: v.setUint8(pos, x); break;
      case 1: v.setInt8(pos, x); break;
      case 2: v.setUint16(pos, x, true); break;
      case 3: v.setInt16(pos, x, true); break;
      case 4: v.setUint32(pos, x >>> 0, true); break;
      case 5: v.setInt32(pos, x | 0, true); break;
      case 6: v.setFloat32(pos, x, true); break;
      case 10: v.setBigUint64(pos, BigInt(Math.max(0, Math.trunc(x))), true); break;
      case 11: v.setBigInt64(pos, BigInt(Math.trunc(x)), true); break;
      case 12: v.setFloat64(pos, x, true); break;
    }
  };

  // -- whole files that are not models
  add('file', 'empty', () => new Uint8Array(0));
  for (const n of [1, 3, 4, 8, 16, 23]) add('file', `first ${n} bytes`, () => base.slice(0, n));
  for (const [name, text] of [['GGML magic', 'GGML'], ['GGJT magic', 'tjgg'], ['zip', 'PK\u0003\u0004'], ['json', '{"a":1}'], ['html', '<!DOCTYPE html><html>']]) {
    add('file', name, edited((_v, b) => b.set(new TextEncoder().encode(text))));
  }
  for (const n of [16, 300, 5000, 70000, 300000]) {
    add('file', `garbage ${n}`, () => Uint8Array.from({ length: n }, () => int(256)));
    add('file', `GGUF + garbage ${n}`, () => { const b = Uint8Array.from({ length: n }, () => int(256)); b.set([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]); return b; });
  }
  for (const version of [0, 1, 4, 0x03000000, 0xffffffff]) add('file', `version ${version}`, edited((v) => v.setUint32(4, version, true)));

  // -- truncated anywhere: in the header (most interesting) and in the data
  const cuts = new Set<number>([layout.headerEnd - 1, layout.headerEnd, layout.dataOffset, base.length - 1, base.length - 4096]);
  while (cuts.size < 25) cuts.add(24 + int(layout.headerEnd - 24));
  while (cuts.size < 40) cuts.add(layout.dataOffset + int(base.length - layout.dataOffset));
  for (const n of cuts) add('truncate', `at ${n}`, () => base.slice(0, n));

  // -- tensor and metadata counts
  const nT = layout.tensors.length;
  const nKv = layout.kvs.length;
  for (const x of [0n, BigInt(nT - 1), BigInt(nT + 1), 1n << 20n, (1n << 20n) + 1n, ...U64_HUGE]) {
    add('count', `tensor count ${x}`, edited((v) => v.setBigUint64(8, x, true)));
  }
  for (const x of [0n, BigInt(nKv - 1), BigInt(nKv + 1), (1n << 20n) + 1n, ...U64_HUGE]) {
    add('count', `kv count ${x}`, edited((v) => v.setBigUint64(16, x, true)));
  }

  // -- one metadata entry: key length, value type, string / array lengths, array element type, renamed keys
  const pick = <T>(xs: T[], n: number): T[] => Array.from({ length: n }, () => xs[int(xs.length)]);
  for (const kv of pick(layout.kvs, 6)) {
    for (const x of [0n, 2n ** 40n]) add('kv', `key length of ${kv.key} = ${x}`, edited((v) => v.setBigUint64(kv.keyPos, x, true)));
    for (const t of [13, 99, 9, int(13)]) add('kv', `type of ${kv.key} = ${t}`, edited((v) => v.setUint32(kv.typePos, t, true)));
  }
  const strings = layout.kvs.filter((k) => k.type === 8);
  for (const kv of pick(strings, 4)) {
    for (const x of [2n ** 28n + 1n, 2n ** 40n, 2n ** 64n - 1n]) add('kv', `string length of ${kv.key} = ${x}`, edited((v) => v.setBigUint64(kv.valuePos, x, true)));
  }
  const arrays = layout.kvs.filter((k) => k.type === 9);
  for (const kv of arrays) {
    const len = BigInt(kv.length!);
    for (const x of [0n, len - 1n, len + 1n, 2n ** 28n, 2n ** 28n + 1n, 2n ** 40n, 2n ** 64n - 1n]) {
      add('kv', `array length of ${kv.key} = ${x}`, edited((v) => v.setBigUint64(kv.valuePos + 4, x, true)));
    }
    for (const t of [9, 13, 99, ...[0, 4, 5, 6, 7, 8, 10, 12].filter((e) => e !== kv.elemType)]) {
      add('kv', `element type of ${kv.key} = ${t}`, edited((v) => v.setUint32(kv.valuePos, t, true)));
    }
  }
  for (const kv of layout.kvs) {
    // One letter of the key changed: the key is "missing" and an unknown one appears.
    add('kv', `key ${kv.key} renamed`, edited((v, b) => { b[kv.keyPos + 8] ^= 0x20; }));
  }

  // -- hyperparameters and token ids: absurd values of the right type
  const scalars = layout.kvs.filter((k): k is KvField => k.type !== 8 && k.type !== 9 && k.key !== 'general.alignment');
  for (const kv of scalars) {
    const values = FLOAT_TYPES.has(kv.type) ? FLOAT_VALUES : kv.type === 7 ? [2, 255] : INT_VALUES;
    for (const x of values) {
      if (SCALAR_WIDTH[kv.type] === 1 && x > 255) continue;
      add('meta', `${kv.key}=${x}`, edited((v) => setScalar(v, kv.valuePos, kv.type, x)));
    }
  }
  for (const a of [0, 3, 48, 1 << 30]) {
    const at = layout.kvs.find((k) => k.key === 'general.alignment');
    if (at) add('meta', `general.alignment=${a}`, edited((v) => setScalar(v, at.valuePos, at.type, a)));
  }

  // -- one tensor's description: dims, dim count, type, offset
  const someTensors = [layout.tensors[0], layout.tensors[nT - 1], ...pick(layout.tensors, 4)];
  for (const t of someTensors) {
    for (const n of [0, 3, 5, 100, 0xffffffff]) add('tensor', `${t.name} n_dims=${n}`, edited((v) => v.setUint32(t.nDimsPos, n, true)));
    for (const x of [0n, 1n, BigInt(t.dims[0] + 1), BigInt(t.dims[0] * 2), 2n ** 31n, ...U64_HUGE]) {
      add('tensor', `${t.name} ne[0]=${x}`, edited((v) => v.setBigUint64(t.dimPos[0], x, true)));
    }
    for (const x of [-32, 32, 1, 2 ** 50]) {
      add('tensor', `${t.name} offset+${x}`, edited((v) => v.setBigUint64(t.offsetPos, BigInt.asUintN(64, BigInt(t.offset) + BigInt(x)), true)));
    }
  }
  // Every type id ggml has had and a few it never had, on a norm vector and on a matrix.
  const vec = layout.tensors.find((t) => t.nDims === 1)!;
  const mat = layout.tensors.find((t) => t.nDims === 2 && t.name.startsWith('blk.'))!;
  for (const t of [vec, mat]) {
    for (const type of [...Array.from({ length: 41 }, (_, i) => i), 99, 0xffffffff]) {
      if (type !== t.type) add('tensor', `${t.name} type=${type}`, edited((v) => v.setUint32(t.typePos, type, true)));
    }
  }
  // Two tensors' offsets swapped (out of order) and two tensors sharing one offset (overlap).
  const [ta, tb] = [layout.tensors[1], layout.tensors[2]];
  add('tensor', 'offsets swapped', edited((v) => { v.setBigUint64(ta.offsetPos, BigInt(tb.offset), true); v.setBigUint64(tb.offsetPos, BigInt(ta.offset), true); }));
  add('tensor', 'offsets shared', edited((v) => v.setBigUint64(tb.offsetPos, BigInt(ta.offset), true)));

  // -- tensor data: NaN / Inf in F32 tensors (the header stays valid), random flips
  const f32 = layout.tensors.filter((t) => t.type === 0);
  const dataOf = (name: string) => layout.tensors.find((t) => t.name === name);
  for (const name of ['output_norm.weight', 'token_embd.weight', 'blk.0.attn_norm.weight', 'blk.0.attn_q.weight', 'blk.1.ffn_down.weight']) {
    const t = dataOf(name);
    if (!t || t.type !== 0) continue;
    const n = t.dims.reduce((a, b) => a * b, 1);
    const at = layout.dataOffset + t.offset;
    add('data', `${name} all NaN`, edited((v) => { for (let i = 0; i < n; i++) v.setFloat32(at + 4 * i, NaN, true); }));
    add('data', `${name} one +Inf`, edited((v) => v.setFloat32(at + 4 * int(n), Infinity, true)));
  }
  if (f32.length) {
    const t = f32[int(f32.length)];
    add('data', `${t.name} one NaN`, edited((v) => v.setFloat32(layout.dataOffset + t.offset, NaN, true)));
  }
  for (let i = 0; i < 8; i++) {
    const at = layout.dataOffset + int(base.length - layout.dataOffset);
    const x = int(256);
    add('data', `byte ${at}=${x}`, edited((_v, b) => { b[at] = x; }));
  }

  // -- random byte flips in the header: one byte, or four in a row
  for (let i = 0; i < 60; i++) {
    const at = int(layout.headerEnd);
    const x = int(256);
    add('flip', `byte ${at}=${x}`, edited((_v, b) => { b[at] = x; }));
  }
  for (let i = 0; i < 20; i++) {
    const at = int(layout.headerEnd - 4);
    const x = int(2 ** 32);
    add('flip', `u32 at ${at}=${x}`, edited((v) => v.setUint32(at, x, true)));
  }
  return cases;
}
