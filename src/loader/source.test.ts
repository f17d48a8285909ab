import { describe, expect, test } from 'vitest';
import { chunkCount, chunkRange, hfResolveUrl, parseHfId, resolveSource, siblingUrl, splitGgufInfo, splitGgufUrls, shardInfo, shardNames, shardGroup, modelStem } from './source.ts';
import { InvalidRequestError } from '../errors.ts';

describe('Hugging Face ids', () => {
  test('hf: ids parse into repo, revision and path', () => {
    expect(parseHfId('hf:owner/repo/model.gguf')).toEqual({ hf: 'owner/repo', file: 'model.gguf', revision: undefined });
    expect(parseHfId('hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF@v1.0/sub/dir/q4_0.gguf'))
      .toEqual({ hf: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF', file: 'sub/dir/q4_0.gguf', revision: 'v1.0' });
    expect(parseHfId('hf:o/r@refs%2Fpr%2F3/m.gguf').revision).toBe('refs/pr/3');
  });
  test('malformed ids are InvalidRequestError saying the form', () => {
    for (const bad of ['hf:owner/model.gguf', 'hf:owner', 'hf:/repo/x.gguf', 'hf:o/r@/x.gguf']) {
      expect(() => parseHfId(bad), bad).toThrow(InvalidRequestError);
    }
    expect(() => parseHfId('hf:x')).toThrow(/hf:owner\/repo\/path\/file\.gguf/);
  });
  test('resolve URLs: default base, main revision, mirror base, encoded revision', () => {
    expect(hfResolveUrl({ hf: 'o/r', file: 'a/b.gguf' })).toBe('https://huggingface.co/o/r/resolve/main/a/b.gguf');
    expect(hfResolveUrl({ hf: 'o/r', file: 'b.gguf', revision: 'refs/pr/3' }, 'http://localhost:8000/mirror/'))
      .toBe('http://localhost:8000/mirror/o/r/resolve/refs%2Fpr%2F3/b.gguf');
    expect(resolveSource('hf:o/r@dev/m 1.gguf', 'https://hf-mirror.example')).toBe('https://hf-mirror.example/o/r/resolve/dev/m%201.gguf');
    expect(resolveSource({ hf: 'o/r', file: 'm.gguf' })).toBe('https://huggingface.co/o/r/resolve/main/m.gguf');
    expect(resolveSource('https://x.org/m.gguf')).toBe('https://x.org/m.gguf');
    expect(() => hfResolveUrl({ hf: 'justone', file: 'm.gguf' })).toThrow(InvalidRequestError);
  });
});

describe('split GGUF names', () => {
  test('shard number and count', () => {
    expect(splitGgufInfo('https://h/x/model-q4_0-00002-of-00005.gguf?download=1')).toEqual({ index: 2, count: 5 });
    expect(splitGgufInfo('https://h/x/model-q4_0.gguf')).toBeUndefined();
    expect(splitGgufInfo('model-0001-of-0002.gguf')).toBeUndefined();
  });
  test('every shard URL from any shard, query kept', () => {
    expect(splitGgufUrls('/m/a-00002-of-00003.gguf?x=1')).toEqual([
      '/m/a-00001-of-00003.gguf?x=1', '/m/a-00002-of-00003.gguf?x=1', '/m/a-00003-of-00003.gguf?x=1',
    ]);
    expect(splitGgufUrls('/m/a.gguf')).toEqual(['/m/a.gguf']);
    expect(() => splitGgufUrls('/m/a-00004-of-00003.gguf')).toThrow(InvalidRequestError);
  });
  test('one shard pattern for GGUF and safetensors: names, group, stem', () => {
    expect(shardInfo('m/model-00002-of-00003.safetensors')).toEqual({ index: 2, count: 3, ext: 'safetensors' });
    expect(shardNames('m/model-00001-of-00002.safetensors')).toEqual(['m/model-00001-of-00002.safetensors', 'm/model-00002-of-00002.safetensors']);
    expect(splitGgufUrls('m/model-00001-of-00002.safetensors')).toEqual(['m/model-00001-of-00002.safetensors']); // not a GGUF
    expect(shardGroup('a-00002-of-00003.gguf')).toBe(shardGroup('a-00003-of-00003.gguf'));
    expect(shardGroup('a.gguf')).toBe('a.gguf');
    expect([modelStem('a-00002-of-00003.gguf'), modelStem('a.safetensors.index.json'), modelStem('a.gguf')]).toEqual(['a', 'a', 'a']);
  });
  test('sibling files', () => {
    expect(siblingUrl('https://h/o/r/resolve/main/model.safetensors?dl=1', 'config.json')).toBe('https://h/o/r/resolve/main/config.json');
  });
});

describe('chunk math', () => {
  test('ranges tile the file exactly', () => {
    for (const [size, cb] of [[1, 4], [4, 4], [5, 4], [10_000_001, 1 << 20], [3 << 20, 1 << 20]]) {
      const n = chunkCount(size, cb);
      let next = 0;
      for (let i = 0; i < n; i++) {
        const r = chunkRange(i, size, cb);
        expect(r.start).toBe(next);
        expect(r.end - r.start).toBeGreaterThan(0);
        expect(r.end - r.start).toBeLessThanOrEqual(cb);
        next = r.end;
      }
      expect(next).toBe(size);
    }
    expect(chunkCount(0, 4)).toBe(0);
  });
});
