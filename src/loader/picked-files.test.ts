import { describe, expect, test } from 'vitest';
import { PickedFileSet, isPickedFiles, pickedEntry } from './picked-files.ts';
import { InvalidRequestError, MissingModelFileError } from '../errors.ts';

/** A File as a folder pick gives it (`webkitRelativePath` is read-only on real Files, so it is defined here). */
function file(name: string, relativePath = ''): File {
  const f = new File([name], name.split('/').pop()!);
  Object.defineProperty(f, 'webkitRelativePath', { value: relativePath });
  return f;
}

describe('which picked file a model starts from', () => {
  test('one model among other files', () => {
    expect(pickedEntry(['config.json', 'model.safetensors', 'tokenizer.json', 'README.md'])).toBe('model.safetensors');
    expect(pickedEntry(['tiny-q4_0.gguf'])).toBe('tiny-q4_0.gguf');
    expect(pickedEntry(['README.md', 'tiny-q4_0.gguf', '.gitattributes'])).toBe('tiny-q4_0.gguf');
  });
  test('split GGUF: the lowest shard picked, whatever the order', () => {
    expect(pickedEntry(['m-00003-of-00003.gguf', 'm-00001-of-00003.gguf', 'm-00002-of-00003.gguf'])).toBe('m-00001-of-00003.gguf');
    // A missing first shard still names this model; the loader then says which shard is missing.
    expect(pickedEntry(['m-00003-of-00003.gguf', 'm-00002-of-00003.gguf'])).toBe('m-00002-of-00003.gguf');
  });
  test('sharded safetensors: the index when picked, else the lowest shard', () => {
    const shards = ['model-00002-of-00002.safetensors', 'model-00001-of-00002.safetensors', 'config.json', 'tokenizer.json'];
    expect(pickedEntry([...shards, 'model.safetensors.index.json'])).toBe('model.safetensors.index.json');
    expect(pickedEntry(shards)).toBe('model-00001-of-00002.safetensors');
  });
  test('a single file with another name is taken as it is (its magic bytes decide)', () => {
    expect(pickedEntry(['weights.bin'])).toBe('weights.bin');
  });
  test('several models, or none, are InvalidRequestError listing the files', () => {
    expect(() => pickedEntry(['a-q4_0.gguf', 'a-q8_0.gguf'])).toThrow(InvalidRequestError);
    expect(() => pickedEntry(['a-q4_0.gguf', 'a-q8_0.gguf'])).toThrow(/2 models \(a-q4_0\.gguf, a-q8_0\.gguf\): pick the files of one model/);
    expect(() => pickedEntry(['m-00001-of-00002.gguf', 'n-00001-of-00002.gguf'])).toThrow(/2 models/);
    expect(() => pickedEntry(['model.safetensors', 'x.gguf'])).toThrow(/2 models/);
    expect(() => pickedEntry(['config.json', 'tokenizer.json'])).toThrow(/None of the picked files \(config\.json, tokenizer\.json\) is a model/);
  });
});

describe('picked files by name', () => {
  test('lookup by name or by a path ending in it; FileLists and arrays are picked files, single Files are not', () => {
    const set = new PickedFileSet([file('config.json'), file('model.safetensors')]);
    expect(set.names).toEqual(['config.json', 'model.safetensors']);
    expect(set.get('config.json')?.name).toBe('config.json');
    expect(set.get('sub/config.json')?.name).toBe('config.json');
    expect(set.get('tokenizer.json')).toBeUndefined();
    expect(isPickedFiles([file('a.gguf')])).toBe(true);
    expect(isPickedFiles(file('a.gguf'))).toBe(false);
    expect(isPickedFiles('a.gguf')).toBe(false);
  });
  test('a missing file is MissingModelFileError naming it, why, and what was picked', () => {
    const set = new PickedFileSet([file('config.json'), file('model.safetensors')]);
    const e = (() => {
      try {
        set.need('tokenizer.json', 'a safetensors model needs it');
      } catch (err) {
        return err as MissingModelFileError;
      }
    })();
    expect(e).toBeInstanceOf(MissingModelFileError);
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e!.file).toBe('tokenizer.json');
    expect(e!.message).toBe(
      'tokenizer.json is not among the picked files (config.json, model.safetensors), and a safetensors model needs it: ' +
        'pick tokenizer.json too (select all of the model folder\'s files, or the folder itself).',
    );
  });
  test('a folder pick: nested copies of a name lose to the top-level file; the folder names the model', () => {
    const set = new PickedFileSet([
      file('config.json', 'SmolLM2/onnx/config.json'), file('config.json', 'SmolLM2/config.json'), file('model.safetensors', 'SmolLM2/model.safetensors'),
    ]);
    expect(set.get('config.json')?.webkitRelativePath).toBe('SmolLM2/config.json');
    expect(set.displayName('model.safetensors')).toBe('SmolLM2');
    expect(new PickedFileSet([file('m-00001-of-00002.gguf')]).displayName('m-00001-of-00002.gguf')).toBe('m');
  });
  test('two files of one name at the same depth, or no files, are InvalidRequestError', () => {
    expect(() => new PickedFileSet([file('config.json'), file('config.json')])).toThrow(/Two picked files are both named config\.json/);
    expect(() => new PickedFileSet([])).toThrow(InvalidRequestError);
    expect(() => new PickedFileSet([new Blob(['x']) as File])).toThrow(/a list of File objects/);
  });
});
