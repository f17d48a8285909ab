/**
 * Comlink would turn our typed errors into plain Errors on the way out of the worker; this handler keeps the class
 * (by name), the message and the extra fields (url, status), so `instanceof ModelFetchError` works on the page.
 */
import * as Comlink from 'comlink';
import * as errors from '../errors.ts';

type Serialized = { isError: true; value: { name: string; message: string; stack?: string; url?: string; status?: number; keywords?: string[] } } | { isError: false; value: unknown };

const CLASSES: Record<string, new (...a: never[]) => Error> = Object.fromEntries(
  Object.entries(errors).filter(([, v]) => typeof v === 'function') as [string, new (...a: never[]) => Error][],
);

export function installErrorTransfer(): void {
  const base = Comlink.transferHandlers.get('throw')!;
  const handler: Comlink.TransferHandler<{ value: unknown }, Serialized> = {
    // comlink's own test for its thrown-value wrapper (its marker symbol is not exported).
    canHandle: base.canHandle as (v: unknown) => v is { value: unknown },
    serialize: ({ value }) => {
      if (value instanceof Error) {
        const e = value as Error & { url?: string; status?: number; keywords?: string[] };
        return [{ isError: true, value: { name: e.name, message: e.message, stack: e.stack, url: e.url, status: e.status, keywords: e.keywords } }, []];
      }
      return [{ isError: false, value }, []];
    },
    deserialize: (s) => {
      if (!s.isError) throw s.value;
      const { name, message, stack, url, status, keywords } = s.value;
      const Cls = CLASSES[name];
      let e: Error;
      if (name === 'ModelFetchError') e = new errors.ModelFetchError(message, url ?? '', status);
      else if (name === 'UnsupportedSchemaError') e = new errors.UnsupportedSchemaError(message, keywords ?? []);
      else if (Cls) e = new (Cls as unknown as new (m: string) => Error)(message);
      else e = Object.assign(new Error(message), { name });
      if (stack) e.stack = stack;
      throw e;
    },
  };
  Comlink.transferHandlers.set('throw', handler as Comlink.TransferHandler<unknown, unknown>);
}
