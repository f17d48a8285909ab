/**
 * What a cached reply was made with, beyond the request: the response cache is keyed on a model string and the request,
 * but a request's `lora: [{ id }]` names an adapter by the caller's id (reusable for another file) and
 * `engine.mergeAdapter` changes the base weights under the same model name. This hook resolves both from the engine's
 * resident adapters (their content digests) when a request is looked up, and stores the reply under the same key,
 * even if an adapter is merged while the request runs.
 */
import type { AdapterInfo } from '../runtime/engine-types.ts';
import type { ResponseCacheBinder, ResponseCacheHook } from './client.ts';
import type { ChatRequestData } from './openai.ts';

export function adapterAwareHook(binder: ResponseCacheBinder, model: string, adapters: () => Promise<AdapterInfo[]>): ResponseCacheHook {
  const base = binder.bind(model);
  const resolved = new WeakMap<ChatRequestData, Promise<{ hook: ResponseCacheHook; req: ChatRequestData }>>();
  const resolve = (req: ChatRequestData) => {
    let r = resolved.get(req);
    if (!r) {
      r = adapters().then((list) => {
        const byId = new Map(list.map((a) => [a.id, a]));
        const merged = list.filter((a) => a.merged !== undefined).map((a) => `${a.sha256}@${a.merged}`).sort();
        const hook = merged.length ? binder.bind(`${model}|merged:${merged.join(',')}`) : base;
        // An unknown id stays as given: the engine refuses the request, nothing is stored.
        const lora = req.lora?.map((l) => ({ ...l, id: byId.get(l.id)?.sha256 ?? l.id }));
        return { hook, req: lora ? { ...req, lora } : req };
      });
      resolved.set(req, r);
    }
    return r;
  };
  return {
    accepts: (req) => base.accepts(req),
    get: async (req) => {
      const { hook, req: keyed } = await resolve(req);
      return hook.get(keyed);
    },
    put: async (req, res) => {
      const { hook, req: keyed } = await resolve(req);
      return hook.put(keyed, res);
    },
  };
}
