/**
 * A model given as files the user picked (`<input type=file multiple>`, a folder with `webkitdirectory`, or any
 * array of Files). A picked File has no URL, so its siblings (config.json beside model.safetensors, the other shards
 * of a split model) are found by file name among the picked files. The loader then treats a picked name exactly like
 * a URL (`source.ts` expands shard names and sibling names the same way) and opens the File instead of fetching.
 * Picked files are already local: they are never cached.
 */
import { InvalidRequestError, MissingModelFileError } from '../errors.ts';
import { modelStem, shardGroup, type PickedFiles } from './source.ts';

export type { PickedFiles };

/** Files picked by the user; what `load()` accepts besides one URL or one File. */

export function isPickedFiles(v: unknown): v is PickedFiles {
  return Array.isArray(v) || (typeof FileList !== 'undefined' && v instanceof FileList);
}

const depth = (f: File) => (f.webkitRelativePath || f.name).split('/').length;

/** The picked files by name; a folder's nested copy of a name loses to the shallower one (`onnx/config.json`). */
export class PickedFileSet {
  private readonly byName = new Map<string, File>();

  constructor(files: PickedFiles) {
    for (const f of Array.from(files)) {
      if (!(f instanceof File)) {
        throw new InvalidRequestError('load() takes a list of File objects (as an <input type=file> gives them): their names say which file is which.');
      }
      const old = this.byName.get(f.name);
      if (old && depth(old) === depth(f)) {
        throw new InvalidRequestError(
          `Two picked files are both named ${f.name} (${old.webkitRelativePath || old.name}, ${f.webkitRelativePath || f.name}): pick one model's files.`,
        );
      }
      if (!old || depth(f) < depth(old)) this.byName.set(f.name, f);
    }
    if (!this.byName.size) throw new InvalidRequestError('No files were picked: pick a .gguf file, or a safetensors model with its config.json and tokenizer.json.');
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** The picked file called `name` (a bare file name, or a path whose last part is the name). */
  get(name: string): File | undefined {
    return this.byName.get(name.split('/').pop()!);
  }

  /** Like `get`, but a missing file is a MissingModelFileError naming it and the files that were picked. */
  need(name: string, why = 'the model needs it'): File {
    const f = this.get(name);
    if (f) return f;
    const file = name.split('/').pop()!;
    throw new MissingModelFileError(
      `${file} is not among the picked files (${this.names.join(', ')}), and ${why}: pick ${file} too ` +
        '(select all of the model folder\'s files, or the folder itself).',
      file,
    );
  }

  /** The folder the files came from (`webkitdirectory`), else the entry file's name without its extension. */
  displayName(entry: string): string {
    const root = this.get(entry)?.webkitRelativePath?.split('/'); // Node's File has no webkitRelativePath
    return root && root.length > 1 ? root[0] : modelStem(entry);
  }
}

/**
 * The picked file the loader starts from, named as a URL would be: a GGUF (any shard of a split one), a
 * `*.safetensors.index.json`, a safetensors shard, or a lone `.safetensors`. Several models among the files (two
 * quantizations in one folder) are an error asking to pick one; so is no model at all. One file with another name is
 * taken as it is (the loader reads its magic bytes).
 */
export function pickedEntry(names: string[]): string {
  const models = new Map<string, string>(); // model key → the file to start from
  const add = (key: string, name: string) => {
    const old = models.get(key);
    // A split model starts from its lowest shard present (the loader lists the others from any of them).
    if (!old || name < old) models.set(key, name);
  };
  const indexes = names.filter((n) => n.endsWith('.safetensors.index.json'));
  for (const n of indexes) add(n, n);
  for (const n of names) {
    if (n.endsWith('.gguf')) add(shardGroup(n), n);
    // Safetensors files belong to the index when there is one.
    else if (n.endsWith('.safetensors') && !indexes.length) add(shardGroup(n), n);
  }
  if (models.size === 1) return [...models.values()][0];
  if (models.size > 1) {
    throw new InvalidRequestError(
      `The picked files hold ${models.size} models (${[...models.values()].join(', ')}): pick the files of one model only.`,
    );
  }
  if (names.length === 1) return names[0];
  throw new InvalidRequestError(
    `None of the picked files (${names.join(', ')}) is a model: pick a .gguf file (every shard of a split one), or a ` +
      'safetensors model\'s .safetensors file(s) with its config.json and tokenizer.json.',
  );
}
