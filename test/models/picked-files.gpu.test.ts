/**
 * load(files): a model given as files the user picked (File objects made here from bytes fetched from the test
 * servers, as an <input type=file multiple> would hand them over), in a Web Worker as users run it. Each picked model
 * must give exactly the logits or greedy tokens of the same model loaded by URL; a file missing from the set is a
 * MissingModelFileError naming it; picked files are never written to the IndexedDB cache.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { load, cache, MissingModelFileError, InvalidRequestError, type LoadProgress } from '../../src/index.ts';

const SPEC = 'tiny~llama~bf16~s3';
const PROMPT = [1, 17, 42, 7];

async function picked(base: string, names: string[]): Promise<File[]> {
  return Promise.all(names.map(async (n) => new File([await (await fetch(`${base}/${n}`)).arrayBuffer()], n)));
}

const opts = { contextLength: 64, maxBatch: 16, cache: false } as const;

async function logitsOf(src: Parameters<typeof load>[0], o: Parameters<typeof load>[1] = opts): Promise<number[]> {
  const engine = await load(src, o);
  const l = await engine.logits(PROMPT);
  await engine.dispose();
  return Array.from(l);
}

async function greedyOf(src: Parameters<typeof load>[0], o: Parameters<typeof load>[1] = opts) {
  const engine = await load(src, o);
  const r = await engine.complete([1], { maxTokens: 8, temperature: 0 });
  const name = engine.info.name;
  await engine.dispose();
  return { tokens: r.tokens, name };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (err: Error) => err);
  if (!e) throw new Error('expected the load to fail');
  return e;
}

describe('safetensors picked as files', () => {
  let byUrl: number[];
  beforeAll(async () => {
    await cache.clear();
    byUrl = await logitsOf(`/fixtures/${SPEC}/model.safetensors`);
  });

  test('model.safetensors + config.json + tokenizer.json + tokenizer_config.json (a FileList) = the URL load; nothing cached', async () => {
    const files = await picked(`/fixtures/${SPEC}`, ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    // A FileList, as <input type=file multiple> gives it.
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(f);
    const events: LoadProgress[] = [];
    const before = await cache.usage();
    const l = await logitsOf(dt.files, { ...opts, cache: true, onProgress: (p) => events.push(p) });
    expect(l).toEqual(byUrl);
    // Every picked file was read, and counted in the progress.
    const total = files.reduce((a, f) => a + f.size, 0);
    const last = events.filter((e) => e.files).at(-1)!;
    expect(last.loaded).toBe(total);
    expect(last.files!.map((f) => f.file).sort()).toEqual(files.map((f) => f.name).sort());
    // Local files are not copied into IndexedDB, even with cache: true.
    expect(await cache.list()).toEqual([]);
    expect((await cache.usage()).bytes).toBe(before.bytes);
  });

  test('without tokenizer_config.json (optional) the weights and logits are the same', async () => {
    const files = await picked(`/fixtures/${SPEC}`, ['model.safetensors', 'config.json', 'tokenizer.json']);
    expect(await logitsOf(files)).toEqual(byUrl);
  });

  test('sharded safetensors, with or without the index json, picked in any order = the single-file URL load', async () => {
    const base = `/faulty/picked-st-${Date.now().toString(36)}/stsplit3/${SPEC}`;
    const shards = ['model-00003-of-00003.safetensors', 'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors'];
    const files = await picked(base, [...shards, 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors.index.json']);
    expect(await logitsOf(files)).toEqual(byUrl);
    expect(await logitsOf(files.filter((f) => !f.name.endsWith('.index.json')))).toEqual(byUrl);
  });

  test('a missing config.json, tokenizer.json or shard is MissingModelFileError naming it', async () => {
    const files = await picked(`/fixtures/${SPEC}`, ['model.safetensors', 'config.json', 'tokenizer.json']);
    for (const missing of ['config.json', 'tokenizer.json']) {
      const e = await failure(load(files.filter((f) => f.name !== missing), opts));
      expect(e).toBeInstanceOf(MissingModelFileError);
      expect((e as MissingModelFileError).file).toBe(missing);
      expect(e.message).toContain(`pick ${missing} too`);
      expect(e.message).toContain('a safetensors model needs config.json and tokenizer.json');
    }
    const base = `/faulty/picked-st2-${Date.now().toString(36)}/stsplit3/${SPEC}`;
    const shardSet = await picked(base, ['model-00001-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'config.json', 'tokenizer.json', 'model.safetensors.index.json']);
    for (const set of [shardSet, shardSet.filter((f) => !f.name.endsWith('.index.json'))]) {
      const e = await failure(load(set, opts));
      expect(e).toBeInstanceOf(MissingModelFileError);
      expect((e as MissingModelFileError).file).toBe('model-00002-of-00003.safetensors');
      expect(e.message).toMatch(/split in 3 files/);
    }
  });

  test('two models in one pick, or no model, are InvalidRequestError naming the files', async () => {
    const [st] = await picked(`/fixtures/${SPEC}`, ['model.safetensors']);
    const gguf = new File([await (await fetch('/shared/models/stories260K/stories260K.gguf')).arrayBuffer()], 'stories260K.gguf');
    const two = await failure(load([st, gguf], opts));
    expect(two).toBeInstanceOf(InvalidRequestError);
    expect(two.message).toMatch(/2 models \(stories260K\.gguf, model\.safetensors\)|2 models \(model\.safetensors, stories260K\.gguf\)/);
    const none = await failure(load(await picked(`/fixtures/${SPEC}`, ['config.json', 'tokenizer.json']), opts));
    expect(none).toBeInstanceOf(InvalidRequestError);
    expect(none.message).toMatch(/None of the picked files \(config\.json, tokenizer\.json\) is a model/);
  });
});

describe('GGUF picked as files', () => {
  let byUrl: number[];
  beforeAll(async () => {
    byUrl = (await greedyOf('/shared/models/stories260K/stories260K.gguf')).tokens;
    const expected = (await (await fetch('/shared/models/stories260K/expected-greedy-200.ids.txt')).text()).trim().split(/\s+/).map(Number);
    expect(byUrl).toEqual(expected.slice(1, 9)); // the URL load itself is right
  });

  test('a single GGUF in a list, among other files = the URL load', async () => {
    const files = await picked('/shared/models/stories260K', ['stories260K.gguf', 'expected-greedy-200.txt']);
    expect((await greedyOf(files)).tokens).toEqual(byUrl);
  });

  test('split GGUF shards picked together (any order) = the URL load; a missing shard is MissingModelFileError', async () => {
    const base = `/faulty/picked-gguf-${Date.now().toString(36)}/split3/models/stories260K`;
    const names = [3, 1, 2].map((i) => `stories260K-0000${i}-of-00003.gguf`);
    const files = await picked(base, names);
    expect((await greedyOf(files)).tokens).toEqual(byUrl);
    const e = await failure(load(files.filter((f) => !f.name.includes('00002-of')), opts));
    expect(e).toBeInstanceOf(MissingModelFileError);
    expect((e as MissingModelFileError).file).toBe('stories260K-00002-of-00003.gguf');
    expect(e.message).toContain('pick stories260K-00002-of-00003.gguf too');
  });
});
