import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelFormatError, UnsupportedModelError } from '../errors.ts';
import { GgmlType } from '../model/types.ts';
import { type GgufHeader, parseGgufHeader } from './gguf.ts';
import { ggufBool, ggufNumber, ggufNumberArray, ggufString, ggufStringArray } from './gguf-metadata.ts';

const SHARED = resolve(import.meta.dirname, '../../..', 'shared');

function listGguf(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listGguf(p));
    else if (name.endsWith('.gguf')) out.push(p);
  }
  return out;
}

function parseFile(path: string): { header: GgufHeader; size: number } {
  const bytes = new Uint8Array(readFileSync(path));
  const header = parseGgufHeader(bytes, { fileSize: bytes.length }); // with every check against the file's length
  if ('needBytes' in header) throw new Error(`${path}: header incomplete though the whole file was given`);
  return { header, size: bytes.length };
}

const tensor = (h: GgufHeader, name: string) => {
  const t = h.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return t;
};

// ---- a minimal GGUF writer, for synthetic headers (independent of the parser under test) ----
type Kv = [key: string, type: number, write: (w: Writer) => void];
class Writer {
  bytes: number[] = [];
  u8(v: number) { this.bytes.push(v & 0xff); }
  u32(v: number) { for (let i = 0; i < 4; i++) this.u8(v >>> (8 * i)); }
  u64(v: number | bigint) { let b = BigInt(v); for (let i = 0; i < 8; i++) { this.u8(Number(b & 0xffn)); b >>= 8n; } }
  f32(v: number) { const a = new Uint8Array(new Float32Array([v]).buffer); a.forEach((x) => this.u8(x)); }
  str(s: string) { const e = new TextEncoder().encode(s); this.u64(e.length); e.forEach((x) => this.u8(x)); }
}
function buildGguf(opts: {
  version?: number;
  kvs?: Kv[];
  tensors?: { name: string; ne: number[]; type: number; offset: number }[];
}): Uint8Array {
  const w = new Writer();
  w.u32(0x46554747);
  w.u32(opts.version ?? 3);
  const tensors = opts.tensors ?? [];
  const kvs = opts.kvs ?? [];
  w.u64(tensors.length);
  w.u64(kvs.length);
  for (const [key, type, write] of kvs) { w.str(key); w.u32(type); write(w); }
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.ne.length);
    t.ne.forEach((n) => w.u64(n));
    w.u32(t.type);
    w.u64(t.offset);
  }
  return new Uint8Array(w.bytes);
}

describe('parseGgufHeader on the shared model files', () => {
  const files = [...listGguf(join(SHARED, 'models')), ...listGguf(join(SHARED, 'tokenizers'))];

  it('finds the shared files', () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  it.each(files.map((f) => [f.slice(SHARED.length + 1), f]))('%s parses with consistent tensor layout', (_n, path) => {
    const { header, size } = parseFile(path);
    expect(header.version).toBe(3);
    expect(header.alignment).toBe(32);
    expect(header.dataOffset % header.alignment).toBe(0);
    expect(typeof header.metadata.get('general.architecture')).toBe('string');
    // Tensors lie inside the file, after the header, without overlapping; the last ends within one alignment
    // step of the end of the file.
    const sorted = [...header.tensors].sort((a, b) => a.offset - b.offset);
    let end = header.dataOffset;
    for (const t of sorted) {
      expect(t.offset).toBeGreaterThanOrEqual(end);
      expect(t.offset % header.alignment).toBe(0);
      end = t.offset + t.byteLength;
    }
    if (header.tensors.length > 0) {
      expect(end).toBeLessThanOrEqual(size);
      expect(size - end).toBeLessThan(header.alignment);
    } else {
      // vocab-only files end right after the header, without padding
      expect(header.dataOffset - size).toBeGreaterThanOrEqual(0);
      expect(header.dataOffset - size).toBeLessThan(header.alignment);
    }
  });

  it('stories260K: llama, 5 blocks, dim 64, 512 tokens, all F32', () => {
    const { header } = parseFile(join(SHARED, 'models/stories260K/stories260K.gguf'));
    const m = header.metadata;
    expect(ggufString(m, 'general.architecture')).toBe('llama');
    expect(ggufNumber(m, 'llama.block_count')).toBe(5);
    expect(ggufNumber(m, 'llama.embedding_length')).toBe(64);
    expect(ggufNumber(m, 'llama.feed_forward_length')).toBe(172);
    expect(ggufNumber(m, 'llama.attention.head_count')).toBe(8);
    expect(ggufNumber(m, 'llama.attention.head_count_kv')).toBe(4);
    expect(ggufNumber(m, 'llama.context_length')).toBe(512);
    expect(ggufString(m, 'tokenizer.ggml.model')).toBe('llama');
    const tokens = ggufStringArray(m, 'tokenizer.ggml.tokens');
    expect(tokens).toHaveLength(512);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(m.get('tokenizer.ggml.scores')).toBeInstanceOf(Float32Array);
    expect(m.get('tokenizer.ggml.token_type')).toBeInstanceOf(Int32Array);
    expect(ggufNumberArray(m, 'tokenizer.ggml.token_type')).toHaveLength(512);
    expect(ggufBool(m, 'tokenizer.ggml.add_bos_token')).toBe(true);
    // 1 embedding + 9 per block + output norm (output tied or not: count what is there)
    expect(header.tensors.every((t) => t.type === GgmlType.F32)).toBe(true);
    expect(header.tensors.filter((t) => t.name.startsWith('blk.')).length).toBe(5 * 9);
    const emb = tensor(header, 'token_embd.weight');
    expect(emb.shape).toEqual([512, 64]);
    expect(emb.byteLength).toBe(512 * 64 * 4);
    expect(emb.offset).toBe(header.dataOffset); // first tensor at relative offset 0
    expect(tensor(header, 'blk.0.attn_k.weight').shape).toEqual([32, 64]); // 4 kv heads x head dim 8
    expect(tensor(header, 'blk.4.ffn_down.weight').shape).toEqual([64, 172]);
    expect(tensor(header, 'blk.4.ffn_up.weight').shape).toEqual([172, 64]);
    expect(tensor(header, 'blk.0.attn_norm.weight').shape).toEqual([64]);
  });

  it('sotu-5m: the four variants share shapes; types follow the file name', () => {
    const byType: Record<string, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 };
    for (const [variant, wt] of Object.entries(byType)) {
      const { header } = parseFile(join(SHARED, `models/sotu-5m/sotu-5m-${variant}.gguf`));
      const m = header.metadata;
      expect(ggufNumber(m, 'llama.embedding_length')).toBe(256);
      expect(ggufNumber(m, 'llama.block_count')).toBe(4);
      expect(ggufNumber(m, 'llama.feed_forward_length')).toBe(768);
      expect(ggufNumber(m, 'llama.context_length')).toBe(256);
      expect(ggufStringArray(m, 'tokenizer.ggml.tokens')).toHaveLength(4096);
      expect(ggufString(m, 'tokenizer.chat_template')).toContain('Assistant:');
      const emb = tensor(header, 'token_embd.weight');
      expect(emb.shape).toEqual([4096, 256]);
      expect(emb.type).toBe(wt);
      expect(tensor(header, 'blk.0.attn_k.weight').shape).toEqual([128, 256]);
      expect(tensor(header, 'blk.3.ffn_down.weight').shape).toEqual([256, 768]);
      const out = tensor(header, 'output.weight'); // untied output
      expect(out.shape).toEqual([4096, 256]);
      // the Q4_0 file keeps output.weight in Q8_0
      expect(out.type).toBe(variant === 'q4_0' ? GgmlType.Q8_0 : wt);
      for (const t of header.tensors) {
        if (t.shape.length === 1) expect(t.type, t.name).toBe(GgmlType.F32); // norms stay F32
        else if (t.name !== 'output.weight') expect(t.type, t.name).toBe(wt);
      }
      // byte sizes follow the block layout: Q4_0 = 18 bytes per 32, Q8_0 = 34 per 32
      const perElem = { f32: 4, f16: 2, q8_0: 34 / 32, q4_0: 18 / 32 }[variant]!;
      expect(emb.byteLength).toBe(4096 * 256 * perElem);
    }
  });

  it('llama-2-tiny-random: F16 + F32, 32000-token vocab', () => {
    const { header } = parseFile(join(SHARED, 'models/llama-2-tiny-random/llama-2-tiny-random.gguf'));
    expect(ggufNumber(header.metadata, 'llama.embedding_length')).toBe(8);
    expect(ggufStringArray(header.metadata, 'tokenizer.ggml.tokens')).toHaveLength(32000);
    const types = new Set(header.tensors.map((t) => t.type));
    expect(types).toEqual(new Set([GgmlType.F16, GgmlType.F32]));
    expect(tensor(header, 'token_embd.weight').shape).toEqual([32000, 8]);
  });

  it('vocab-only files carry merges as strings and no tensors', () => {
    const { header } = parseFile(join(SHARED, 'tokenizers/ggml-vocab-llama-bpe.gguf'));
    expect(header.tensors).toHaveLength(0);
    expect(ggufString(header.metadata, 'tokenizer.ggml.pre')).toBe('llama-bpe');
    const merges = ggufStringArray(header.metadata, 'tokenizer.ggml.merges');
    expect(merges.length).toBeGreaterThan(200_000);
    expect(merges[0].split(' ')).toHaveLength(2);
    expect(ggufNumber(header.metadata, 'tokenizer.ggml.bos_token_id')).toBe(128000);
  });
});

describe('parseGgufHeader streaming', () => {
  const path = join(SHARED, 'models/stories260K/stories260K.gguf');
  const file = new Uint8Array(readFileSync(path));
  const full = parseGgufHeader(file) as GgufHeader;
  const headerEnd = full.dataOffset; // header bytes all lie before the data section

  it('every truncated prefix asks for more bytes than it has', () => {
    for (let len = 0; len < headerEnd - 32; len += len < 64 ? 1 : 97) {
      const r = parseGgufHeader(file.subarray(0, len));
      expect('needBytes' in r, `prefix ${len}`).toBe(true);
      if ('needBytes' in r) expect(r.needBytes).toBeGreaterThan(len);
    }
  });

  it('following needBytes from a tiny prefix converges to the full header in few reads', () => {
    for (const start of [0, 1, 16, 1000, 5000]) {
      let have = start;
      let reads = 0;
      let r = parseGgufHeader(file.subarray(0, have));
      while ('needBytes' in r) {
        expect(r.needBytes).toBeGreaterThan(have);
        have = Math.min(r.needBytes, file.length);
        r = parseGgufHeader(file.subarray(0, have));
        reads++;
        expect(reads).toBeLessThan(20);
      }
      expect(r).toEqual(full);
    }
  });

  it('a large vocab array asks for its whole size at once', () => {
    const bytes = new Uint8Array(readFileSync(join(SHARED, 'tokenizers/ggml-vocab-qwen2.gguf')));
    let have = 4096;
    let reads = 0;
    let r = parseGgufHeader(bytes.subarray(0, have));
    while ('needBytes' in r) {
      have = Math.min(r.needBytes, bytes.length);
      r = parseGgufHeader(bytes.subarray(0, have));
      reads++;
    }
    expect(reads).toBeLessThan(16);
    expect(ggufStringArray(r.metadata, 'tokenizer.ggml.tokens')).toHaveLength(151936);
  });
});

describe('parseGgufHeader on synthetic and corrupt input', () => {
  const u32kv = (key: string, v: number): Kv => [key, 4, (w) => w.u32(v)];
  const strkv = (key: string, v: string): Kv => [key, 8, (w) => w.str(v)];

  it('reads every value type', () => {
    const bytes = buildGguf({
      version: 2,
      kvs: [
        ['a.u8', 0, (w) => w.u8(200)],
        ['a.i8', 1, (w) => w.u8(0xff)],
        ['a.u16', 2, (w) => { w.u8(0x34); w.u8(0x12); }],
        ['a.i16', 3, (w) => { w.u8(0xfe); w.u8(0xff); }],
        u32kv('a.u32', 4000000000),
        ['a.i32', 5, (w) => w.u32(-5)],
        ['a.f32', 6, (w) => w.f32(1.5)],
        ['a.bool', 7, (w) => w.u8(1)],
        strkv('a.str', 'héllo'),
        ['a.u64', 10, (w) => w.u64(2n ** 60n)],
        ['a.u64small', 10, (w) => w.u64(42)],
        ['a.i64', 11, (w) => w.u64(-3n & 0xffffffffffffffffn)],
        ['a.f64', 12, (w) => { const b = new Uint8Array(new Float64Array([Math.PI]).buffer); b.forEach((x) => w.u8(x)); }],
        ['a.arr_str', 9, (w) => { w.u32(8); w.u64(2); w.str('x'); w.str('yz'); }],
        ['a.arr_i32', 9, (w) => { w.u32(5); w.u64(3); w.u32(1); w.u32(-2); w.u32(3); }],
        ['a.arr_bool', 9, (w) => { w.u32(7); w.u64(2); w.u8(0); w.u8(1); }],
        ['a.arr_u8', 9, (w) => { w.u32(0); w.u64(3); w.u8(1); w.u8(2); w.u8(3); }],
        ['a.arr_u64', 9, (w) => { w.u32(10); w.u64(1); w.u64(7); }],
      ],
    });
    const h = parseGgufHeader(bytes) as GgufHeader;
    expect(h.version).toBe(2);
    const m = h.metadata;
    expect(m.get('a.u8')).toBe(200);
    expect(m.get('a.i8')).toBe(-1);
    expect(m.get('a.u16')).toBe(0x1234);
    expect(m.get('a.i16')).toBe(-2);
    expect(m.get('a.u32')).toBe(4000000000);
    expect(m.get('a.i32')).toBe(-5);
    expect(m.get('a.f32')).toBe(1.5);
    expect(m.get('a.bool')).toBe(true);
    expect(m.get('a.str')).toBe('héllo');
    expect(m.get('a.u64')).toBe(2n ** 60n);
    expect(m.get('a.u64small')).toBe(42);
    expect(m.get('a.i64')).toBe(-3);
    expect(m.get('a.f64')).toBe(Math.PI);
    expect(m.get('a.arr_str')).toEqual(['x', 'yz']);
    expect(m.get('a.arr_i32')).toEqual(new Int32Array([1, -2, 3]));
    expect(m.get('a.arr_bool')).toEqual([false, true]);
    expect(m.get('a.arr_u8')).toEqual(new Uint8Array([1, 2, 3]));
    expect(m.get('a.arr_u64')).toEqual([7]);
    expect(h.tensors).toEqual([]);
    expect(h.dataOffset).toBe(Math.ceil(bytes.length / 32) * 32);
  });

  it('typed accessors name the key when it is missing or of the wrong type', () => {
    const h = parseGgufHeader(buildGguf({ kvs: [u32kv('n', 7), strkv('s', 'x')] })) as GgufHeader;
    expect(ggufNumber(h.metadata, 'n')).toBe(7);
    expect(ggufNumber(h.metadata, 'absent', undefined)).toBeUndefined();
    expect(ggufNumber(h.metadata, 'absent', 3)).toBe(3);
    expect(() => ggufNumber(h.metadata, 'absent')).toThrow(/"absent" is missing/);
    expect(() => ggufNumber(h.metadata, 's')).toThrow(ModelFormatError);
    expect(() => ggufString(h.metadata, 'n')).toThrow(/"n" should be a string/);
    expect(() => ggufBool(h.metadata, 'n')).toThrow(ModelFormatError);
    expect(() => ggufStringArray(h.metadata, 's')).toThrow(ModelFormatError);
  });

  it('computes tensor shapes, absolute offsets and sizes; honours general.alignment', () => {
    const bytes = buildGguf({
      kvs: [u32kv('general.alignment', 64)],
      tensors: [
        { name: 'a', ne: [32, 3], type: GgmlType.Q4_0, offset: 0 },
        { name: 'b', ne: [5], type: GgmlType.F16, offset: 64 },
        { name: 'k', ne: [256, 2], type: GgmlType.Q4_K, offset: 128 }, // known to ggml, unsupported later: still parses
      ],
    });
    const h = parseGgufHeader(bytes) as GgufHeader;
    expect(h.alignment).toBe(64);
    expect(h.dataOffset).toBe(Math.ceil(bytes.length / 64) * 64);
    expect(h.tensors).toEqual([
      { name: 'a', type: GgmlType.Q4_0, shape: [3, 32], offset: h.dataOffset, byteLength: 3 * 18 },
      { name: 'b', type: GgmlType.F16, shape: [5], offset: h.dataOffset + 64, byteLength: 10 },
      { name: 'k', type: GgmlType.Q4_K, shape: [2, 256], offset: h.dataOffset + 128, byteLength: 2 * 144 },
    ]);
  });

  const cases: [string, () => Uint8Array, RegExp][] = [
    ['bad magic', () => { const b = buildGguf({}); b[0] = 0x47; b[1] = 0x47; b[2] = 0x4d; b[3] = 0x4c; return b; }, /Not a GGUF file/],
    ['unknown version', () => buildGguf({ version: 7 }), /Unknown GGUF version 7/],
    ['big-endian', () => buildGguf({ version: 0x03000000 }), /big-endian/],
    ['unknown value type', () => buildGguf({ kvs: [['x', 13, (w) => w.u32(0)]] }), /"x" has unknown value type 13/],
    ['absurd string length', () => buildGguf({ kvs: [['x', 8, (w) => w.u64(2n ** 62n)]] }), /length.*limit/],
    ['absurd tensor count', () => { const b = buildGguf({}); b[8 + 7] = 0x10; return b; }, /tensor count/],
    ['nested array', () => buildGguf({ kvs: [['x', 9, (w) => { w.u32(9); w.u64(1); }]] }), /nested array/],
    ['bool byte not 0/1', () => buildGguf({ kvs: [['x', 7, (w) => w.u8(5)]] }), /bool byte 5/],
    ['duplicate key', () => buildGguf({ kvs: [u32kv('x', 1), u32kv('x', 2)] }), /"x" appears twice/],
    ['bad alignment', () => buildGguf({ kvs: [u32kv('general.alignment', 48)] }), /power of two/],
    ['misaligned tensor offset', () => buildGguf({ tensors: [{ name: 'w', ne: [4], type: GgmlType.F32, offset: 8 }] }), /"w" has data offset 8/],
    ['row not whole blocks', () => buildGguf({ tensors: [{ name: 'w', ne: [16, 2], type: GgmlType.Q8_0, offset: 0 }] }), /"w".*row length 16/],
    ['too many dims', () => buildGguf({ tensors: [{ name: 'w', ne: [1, 1, 1, 1, 1], type: 0, offset: 0 }] }), /"w" has 5 dimensions/],
    ['duplicate tensor', () => buildGguf({ tensors: [{ name: 'w', ne: [8], type: 0, offset: 0 }, { name: 'w', ne: [8], type: 0, offset: 32 }] }), /"w" appears twice/],
  ];
  it.each(cases)('%s throws ModelFormatError', (_name, make, msg) => {
    const bytes = make();
    expect(() => parseGgufHeader(bytes)).toThrow(ModelFormatError);
    expect(() => parseGgufHeader(bytes)).toThrow(msg);
  });

  it('version 1 throws UnsupportedModelError', () => {
    expect(() => parseGgufHeader(buildGguf({ version: 1 }))).toThrow(UnsupportedModelError);
  });

  it('a type id ggml never defined is UnsupportedModelError naming the id and the tensor, not "corrupt"', () => {
    const bytes = buildGguf({ tensors: [{ name: 'w', ne: [4], type: 99, offset: 0 }] });
    expect(() => parseGgufHeader(bytes)).toThrow(UnsupportedModelError);
    expect(() => parseGgufHeader(bytes)).toThrow(/"w".*type id 99 is not a ggml type llmo knows/);
  });

  it('types ggml defines but llmo does not compute with still parse, sized and named (refused later by validateModel)', () => {
    const bytes = buildGguf({
      tensors: [
        { name: 'a', ne: [256, 2], type: GgmlType.IQ2_XXS, offset: 0 },
        { name: 'b', ne: [32], type: 39, offset: 160 }, // MXFP4
      ],
    });
    const h = parseGgufHeader(bytes) as GgufHeader;
    expect(h.tensors.map((t) => t.byteLength)).toEqual([2 * 66, 17]);
  });

  describe('tensor table', () => {
    const f32 = (name: string, n: number, offset: number) => ({ name, ne: [n], type: GgmlType.F32, offset });
    const parse = (tensors: ReturnType<typeof f32>[], extra = 0) => {
      const b = buildGguf({ tensors });
      const dataOffset = Math.ceil(b.length / 32) * 32;
      return () => parseGgufHeader(b, { fileSize: dataOffset + extra });
    };

    it('tensors packed in table order parse', () => {
      expect(parse([f32('a', 8, 0), f32('b', 8, 32)], 64)()).toHaveProperty('tensors');
    });
    it('overlapping tensors are a ModelFormatError naming both', () => {
      const run = parse([f32('a', 16, 0), f32('b', 8, 32)], 96);
      expect(run).toThrow(ModelFormatError);
      expect(run).toThrow(/"b".*starts at byte .*"a".*ends at byte/);
    });
    it('out-of-order offsets (as llama.cpp, refused) and gaps are caught', () => {
      expect(parse([f32('b', 8, 32), f32('a', 8, 0)], 64)).toThrow(/"b".*starts at byte .*data section starts at byte/);
      expect(parse([f32('a', 8, 0), f32('b', 8, 64)], 96)).toThrow(/"b".*starts at byte .*"a"/);
    });
    it('a type change that makes data run into the next tensor, or stop short of it, is caught', () => {
      const grow = buildGguf({ tensors: [{ name: 'a', ne: [8], type: GgmlType.F64, offset: 0 }, f32('b', 8, 32)] });
      expect(() => parseGgufHeader(grow)).toThrow(/"b".*"a" \(F64 \[8\]\), ends at byte/);
      const shrink = buildGguf({ tensors: [{ name: 'a', ne: [32], type: GgmlType.Q8_0, offset: 0 }, f32('b', 8, 128)] });
      expect(() => parseGgufHeader(shrink)).toThrow(/"b".*"a" \(Q8_0 \[32\]\)/);
    });
    it('a tensor past the end of the file is a ModelFormatError naming it', () => {
      const run = parse([f32('a', 8, 0), f32('b', 8, 32)], 63);
      expect(run).toThrow(ModelFormatError);
      expect(run).toThrow(/"b".*runs to byte .* the file has/);
    });
    it('data after the last tensor that no tensor describes (a lost tensor description) is caught', () => {
      expect(parse([f32('a', 8, 0), f32('b', 8, 32)], 96)).toThrow(/32 bytes after the last tensor's data/);
      expect(parse([f32('a', 8, 0), f32('b', 7, 32)], 64)()).toHaveProperty('tensors'); // padding is not data
    });
    it('a header that claims more bytes than the file has fails at once instead of asking for them', () => {
      const b = buildGguf({ kvs: [['x', 9, (w) => { w.u32(8); w.u64(1 << 27); }]] });
      expect(() => parseGgufHeader(b, { fileSize: b.length })).toThrow(/runs past the end of the file/);
      expect(parseGgufHeader(b)).toHaveProperty('needBytes');
    });
  });

  it('corrupting the real file header is caught', () => {
    const file = new Uint8Array(readFileSync(join(SHARED, 'models/stories260K/stories260K.gguf')).subarray(0, 20000));
    const badMagic = file.slice();
    badMagic[0] ^= 0xff;
    expect(() => parseGgufHeader(badMagic)).toThrow(ModelFormatError);
    const badVersion = file.slice();
    badVersion[4] = 9;
    expect(() => parseGgufHeader(badVersion)).toThrow(/Unknown GGUF version 9/);
  });
});
