/**
 * Vocabulary rewrites of a GGUF that let llama.cpp (as wllama 3.x, which takes and returns text only) be driven
 * and read by token id. Weights, tensor layout and every hyper-parameter are copied untouched (the tensor data is
 * a slice of the input Blob), so the model computes exactly what the original file computes.
 *
 * - rewriteVocabForIdPrompts: every token gets a unique, prefix-free text (`\uE000<id>\uE001`, Unicode
 *   private-use brackets) and type USER_DEFINED (CONTROL tokens stay CONTROL). llama.cpp's special-token pass maps
 *   each marker straight back to its id without running the real tokenizer, and every generated piece is valid
 *   UTF-8. BOS/EOS auto-adding is switched off so the caller's ids are the whole prompt.
 * - showByteTokensAsText: SentencePiece byte tokens (`<0xF0>`, type BYTE) become NORMAL, so llama.cpp prints them
 *   as their ASCII name instead of a lone byte (which llama-server's JSON encoder rejects as invalid UTF-8). The
 *   tokenizer still finds them by that name for byte fallback, so tokenization is unchanged (except for input that
 *   literally contains text like "<0xF0>").
 *
 * Self-contained (not src/formats/gguf.ts) so the reference engine shares no code with the engine it checks.
 */
import { InvalidRequestError, ModelFormatError, UnsupportedModelError } from '../../src/errors.ts';

/** GGUF metadata value types (gguf spec). */
const enum VT { U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 }
const SCALAR_SIZE: Record<number, number> = {
  [VT.U8]: 1, [VT.I8]: 1, [VT.U16]: 2, [VT.I16]: 2, [VT.U32]: 4, [VT.I32]: 4, [VT.F32]: 4, [VT.BOOL]: 1,
  [VT.U64]: 8, [VT.I64]: 8, [VT.F64]: 8,
};
const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

/** llama.cpp token types (llama_token_type). */
const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_BYTE = 6;

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
/** The byte value if `text` is a SentencePiece byte-token name like "<0x0A>", else undefined. */
function byteTokenValue(text: Uint8Array): number | undefined {
  if (text.length !== 6) return undefined;
  const m = BYTE_TOKEN.exec(String.fromCharCode(...text));
  return m ? parseInt(m[1], 16) : undefined;
}
const idMarker = (id: number): string => `\uE000${id}\uE001`;

/** Thrown internally when the header runs past the bytes read so far; the caller reads more and retries. */
class NeedMoreBytes extends Error {}

interface Kv {
  key: string;
  /** Raw bytes of the whole entry (key, type tag, value), copied through unless replaced. */
  raw: Uint8Array;
  type: number;
  /** Offset of the value (just after the type tag) in the header buffer. */
  valueAt: number;
}

interface Header {
  version: number;
  nTensors: number;
  kvs: Kv[];
  tensorInfos: Uint8Array;
  /** Offset of the tensor data section in the original file. */
  dataStart: number;
  alignment: number;
  /** Token texts as raw bytes: copied through verbatim (decoding would drop a BOM or mangle invalid UTF-8). */
  texts: Uint8Array[];
  types: Int32Array;
}

class Reader {
  private readonly view: DataView;
  private readonly dec = new TextDecoder('utf-8', { ignoreBOM: true });
  constructor(readonly bytes: Uint8Array, public pos = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new NeedMoreBytes();
  }
  u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError(`GGUF count ${v} at byte ${this.pos} is impossible`);
    this.pos += 8;
    return Number(v);
  }
  rawStr(): Uint8Array { const n = this.u64(); this.need(n); const b = this.bytes.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  str(): string { return this.dec.decode(this.rawStr()); }
  skipValue(type: number): void {
    if (type === VT.STR) { const n = this.u64(); this.need(n); this.pos += n; return; }
    if (type === VT.ARR) {
      const et = this.u32();
      const n = this.u64();
      const size = SCALAR_SIZE[et];
      if (size !== undefined) { this.need(n * size); this.pos += n * size; return; }
      for (let i = 0; i < n; i++) this.skipValue(et);
      return;
    }
    const size = SCALAR_SIZE[type];
    if (size === undefined) throw new ModelFormatError(`GGUF metadata type ${type} at byte ${this.pos} is unknown: the file is corrupt`);
    this.need(size);
    this.pos += size;
  }
}

class Writer {
  private readonly parts: Uint8Array<ArrayBuffer>[] = [];
  private readonly enc = new TextEncoder();
  length = 0;
  bytes(b: Uint8Array): void { const c = new Uint8Array(b); this.parts.push(c); this.length += c.length; }
  u32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v, true); this.bytes(b); }
  u64(v: number): void { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(v), true); this.bytes(b); }
  i32(v: number): void { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v, true); this.bytes(b); }
  str(s: string | Uint8Array): void { const b = typeof s === 'string' ? this.enc.encode(s) : s; this.u64(b.length); this.bytes(b); }
  bool(key: string, v: boolean): void { this.str(key); this.u32(VT.BOOL); this.bytes(new Uint8Array([v ? 1 : 0])); }
  blobParts(): Uint8Array<ArrayBuffer>[] { return this.parts; }
}

function parseHeader(head: Uint8Array): Header {
  const r = new Reader(head);
  if (r.u32() !== GGUF_MAGIC) throw new ModelFormatError('not a GGUF file (bad magic): pass a .gguf model');
  const version = r.u32();
  if (version !== 2 && version !== 3) throw new UnsupportedModelError(`GGUF version ${version} is not supported (need 2 or 3)`);
  const nTensors = r.u64();
  const nKv = r.u64();
  const kvs: Kv[] = [];
  for (let i = 0; i < nKv; i++) {
    const start = r.pos;
    const key = r.str();
    const type = r.u32();
    const valueAt = r.pos;
    r.skipValue(type);
    kvs.push({ key, type, valueAt, raw: head.subarray(start, r.pos) });
  }
  const tensorInfoStart = r.pos;
  for (let i = 0; i < nTensors; i++) {
    r.str();
    const nDims = r.u32();
    r.need(nDims * 8 + 12);
    r.pos += nDims * 8 + 12; // dims (u64 each), ggml type (u32), data offset (u64)
  }
  const tensorInfos = head.subarray(tensorInfoStart, r.pos);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const alignKv = kvs.find((kv) => kv.key === 'general.alignment');
  const alignment = alignKv?.type === VT.U32 ? view.getUint32(alignKv.valueAt, true) : 32;
  const dataStart = Math.ceil(r.pos / alignment) * alignment;

  const tokensKv = kvs.find((kv) => kv.key === 'tokenizer.ggml.tokens');
  const typesKv = kvs.find((kv) => kv.key === 'tokenizer.ggml.token_type');
  if (!tokensKv || !typesKv) {
    throw new UnsupportedModelError('GGUF has no tokenizer.ggml.tokens / token_type: its vocabulary cannot be rewritten');
  }
  if (tokensKv.type !== VT.ARR || view.getUint32(tokensKv.valueAt, true) !== VT.STR ||
      typesKv.type !== VT.ARR || view.getUint32(typesKv.valueAt, true) !== VT.I32) {
    throw new ModelFormatError('GGUF tokenizer.ggml.tokens must be a string array and token_type an int32 array');
  }
  const tr = new Reader(head, tokensKv.valueAt + 4);
  const nVocab = tr.u64();
  const texts: Uint8Array[] = [];
  for (let i = 0; i < nVocab; i++) texts.push(tr.rawStr());
  if (Number(view.getBigUint64(typesKv.valueAt + 4, true)) !== nVocab) {
    throw new ModelFormatError('GGUF tokenizer.ggml.token_type and tokens differ in length');
  }
  const types = new Int32Array(nVocab);
  for (let i = 0; i < nVocab; i++) types[i] = view.getInt32(typesKv.valueAt + 12 + i * 4, true);
  return { version, nTensors, kvs, tensorInfos, dataStart, alignment, texts, types };
}

/** Reads just enough of `file` to parse its header (headers of test models are far below 4 MiB). */
async function readHeader(file: Blob): Promise<Header> {
  for (let size = Math.min(file.size, 4 << 20); ; size = Math.min(file.size, size * 4)) {
    try {
      return parseHeader(new Uint8Array(await file.slice(0, size).arrayBuffer()));
    } catch (e) {
      if (!(e instanceof NeedMoreBytes)) throw e;
      if (size >= file.size) throw new ModelFormatError('GGUF header runs past the end of the file: the file is truncated');
    }
  }
}

/**
 * The original file with new token texts/types, BOS/EOS auto-adding forced to `addSpecial` (kept if undefined),
 * and the u32 values in `u32s` replaced (those keys must exist).
 */
function writeGguf(file: Blob, h: Header, texts: readonly (string | Uint8Array)[], types: Int32Array, addSpecial?: boolean, u32s: Record<string, number> = {}): Blob {
  for (const key of Object.keys(u32s)) {
    if (!h.kvs.some((kv) => kv.key === key && kv.type === VT.U32)) throw new UnsupportedModelError(`GGUF has no u32 ${key} to replace`);
  }
  const w = new Writer();
  const specialKeys = ['tokenizer.ggml.add_bos_token', 'tokenizer.ggml.add_eos_token'];
  const missing = addSpecial === undefined ? [] : specialKeys.filter((k) => !h.kvs.some((kv) => kv.key === k));
  w.u32(GGUF_MAGIC);
  w.u32(h.version);
  w.u64(h.nTensors);
  w.u64(h.kvs.length + missing.length);
  for (const kv of h.kvs) {
    if (kv.key === 'tokenizer.ggml.tokens') {
      w.str(kv.key); w.u32(VT.ARR); w.u32(VT.STR); w.u64(texts.length);
      for (const t of texts) w.str(t);
    } else if (kv.key === 'tokenizer.ggml.token_type') {
      w.str(kv.key); w.u32(VT.ARR); w.u32(VT.I32); w.u64(types.length);
      for (const t of types) w.i32(t);
    } else if (addSpecial !== undefined && specialKeys.includes(kv.key)) {
      w.bool(kv.key, addSpecial);
    } else if (kv.key in u32s) {
      w.str(kv.key); w.u32(VT.U32); w.u32(u32s[kv.key]);
    } else {
      w.bytes(kv.raw);
    }
  }
  for (const k of missing) w.bool(k, addSpecial ?? false);
  w.bytes(h.tensorInfos);
  w.bytes(new Uint8Array((h.alignment - (w.length % h.alignment)) % h.alignment));
  return new Blob([...w.blobParts(), file.slice(h.dataStart)]);
}

export interface IdPromptModel {
  blob: Blob;
  nVocab: number;
  /** The text prompt that the rewritten model tokenizes to exactly `ids`. */
  promptText(ids: readonly number[]): string;
}

/**
 * See the module comment. `eosId` replaces the EOS id (tests use it to make end-of-generation frequent).
 * Throws ModelFormatError / UnsupportedModelError for unusable files.
 */
export async function rewriteVocabForIdPrompts(file: Blob, opts: { eosId?: number } = {}): Promise<IdPromptModel> {
  const h = await readHeader(file);
  const nVocab = h.texts.length;
  // SPM byte tokens keep their names: llama.cpp looks up "<0x0A>" at load time, and the names are prefix-free too.
  const texts = h.texts.map((t, i) => (byteTokenValue(t) !== undefined ? String.fromCharCode(...t) : idMarker(i)));
  const types = h.types.map((t) => (t === TOKEN_CONTROL ? TOKEN_CONTROL : TOKEN_USER_DEFINED));
  const promptText = (ids: readonly number[]): string =>
    ids.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= nVocab) {
        throw new InvalidRequestError(`token id ${id} is outside the vocabulary [0, ${nVocab})`);
      }
      return texts[id];
    }).join('');
  const u32s: Record<string, number> = opts.eosId === undefined ? {} : { 'tokenizer.ggml.eos_token_id': opts.eosId };
  return { blob: writeGguf(file, h, texts, types, false, u32s), nVocab, promptText };
}

export interface ByteTextModel {
  blob: Blob;
  /** Byte value of each former BYTE token, by id (llama.cpp now prints its name, e.g. "<0xF0>"). */
  byteValue: Map<number, number>;
}

/** See the module comment. */
export async function showByteTokensAsText(file: Blob): Promise<ByteTextModel> {
  const h = await readHeader(file);
  const byteValue = new Map<number, number>();
  const types = h.types.map((t, i) => {
    const byte = byteTokenValue(h.texts[i]);
    if (t !== TOKEN_BYTE || byte === undefined) return t;
    byteValue.set(i, byte);
    return TOKEN_NORMAL;
  });
  return { blob: byteValue.size ? writeGguf(file, h, h.texts, types) : file, byteValue };
}
