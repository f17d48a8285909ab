/**
 * Comlink would turn our typed errors into plain Errors on the way out of the worker; this handler keeps the class
 * (by name), the message and the extra fields (url, status, reason, byte counts…), so `instanceof ModelFetchError`
 * works on the page and the fields read the same.
 */
import * as Comlink from 'comlink';
import * as errors from '../errors.ts';

type Field = string | number | boolean | undefined;
type Fields = Record<string, Field | Field[]>;
type Serialized = { isError: true; value: { name: string; message: string; stack?: string; fields: Fields } } | { isError: false; value: unknown };

const CLASSES: Record<string, new (...a: never[]) => Error> = Object.fromEntries(
  Object.entries(errors).filter(([, v]) => typeof v === 'function') as [string, new (...a: never[]) => Error][],
);

const isPlain = (v: unknown): v is Field => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The error's own plain fields (url, status, reason, neededBytes, …), which structured clone keeps. */
function ownFields(e: Error): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(e)) {
    if (k === 'name' || k === 'message' || k === 'stack') continue;
    if (isPlain(v)) out[k] = v;
    // Lists of plain values (UnsupportedSchemaError.keywords) survive too.
    else if (Array.isArray(v) && v.every(isPlain)) out[k] = [...v] as Field[];
  }
  return out;
}

export function installErrorTransfer(): void {
  const base = Comlink.transferHandlers.get('throw')!;
  const handler: Comlink.TransferHandler<{ value: unknown }, Serialized> = {
    // comlink's own test for its thrown-value wrapper (its marker symbol is not exported).
    canHandle: base.canHandle as (v: unknown) => v is { value: unknown },
    serialize: ({ value }) => {
      if (value instanceof Error) {
        return [{ isError: true, value: { name: value.name, message: value.message, stack: value.stack, fields: ownFields(value) } }, []];
      }
      return [{ isError: false, value }, []];
    },
    deserialize: (s) => {
      if (!s.isError) throw s.value;
      const { name, message, stack, fields } = s.value;
      const Cls = CLASSES[name];
      // Build the instance without running its constructor, so every class (whatever its parameters) comes back whole.
      const e: Error = Cls ? Object.create(Cls.prototype) : new Error(message);
      Object.defineProperty(e, 'message', { value: message, writable: true, configurable: true });
      Object.defineProperty(e, 'name', { value: name, writable: true, configurable: true });
      Object.assign(e, fields);
      if (stack) e.stack = stack;
      throw e;
    },
  };
  Comlink.transferHandlers.set('throw', handler as Comlink.TransferHandler<unknown, unknown>);
}
