/**
 * The response cache: a chat request that was answered before is answered again from IndexedDB without running the
 * model. Exact mode keys on the model, every sampling parameter and the whole conversation; semantic mode also
 * answers a request whose last user turn is within `threshold` cosine of a cached one, when everything else (model,
 * parameters, system prompt, earlier turns) is identical. Only deterministic requests are cached (temperature 0, or
 * a seed): a sampled reply replayed would not be a sample. Entries expire after `maxAgeMs`; past `maxEntries` or
 * `maxBytes` the least recently used go first. A hit says so in `usage.response_cache`.
 *
 * It runs in the page (engine.useResponseCache): the semantic key needs the embedder, which is another engine in
 * another worker, and a hit then costs no message to the model's worker at all.
 */
import type { ResponseCacheBinder, ResponseCacheHook } from '../api/client.ts';
import type { ChatCompletion, ChatCompletionRequest, ChatMessage } from '../api/types.ts';
import { done, openDb, deleteDb, req, writeError } from './idb.ts';
import type { Embedder } from './types.ts';
import { normalize } from './vector-index.ts';

export interface ResponseCacheOptions {
  /** Most entries kept (default 500). */
  maxEntries?: number;
  /** Most bytes of stored responses (default 16 MiB). */
  maxBytes?: number;
  /** Entries older than this are not served (default 7 days). */
  maxAgeMs?: number;
  /** Semantic matching of the last user turn; without it only exact repeats hit. */
  semantic?: { embedder: Embedder; threshold?: number };
  /** Keep entries in IndexedDB (default true). */
  persist?: boolean;
}

export interface CacheHitInfo {
  kind: 'exact' | 'semantic';
  /** 1 for exact hits. */
  similarity: number;
  age_ms: number;
}

interface Entry {
  key: string;
  /** Semantic group: everything but the last user turn. */
  group: string | null;
  vector: Float32Array | null;
  createdAt: number;
  lastUsedAt: number;
  bytes: number;
}

interface Stored extends Entry {
  response: ChatCompletion;
}

const DB_PREFIX = 'llmo-response-cache:';
/** Fields that do not change what the model writes. */
const IGNORED = new Set(['stream', 'stream_options', 'signal', 'user', 'model']);

/** Opens (or creates) the response cache `name`. */
export async function openResponseCache(name = 'default', options: ResponseCacheOptions = {}): Promise<ResponseCache> {
  const c = new ResponseCache(name, options);
  await c.open();
  return c;
}

export class ResponseCache implements ResponseCacheBinder {
  private db?: IDBDatabase;
  private channel?: BroadcastChannel;
  private readonly entries = new Map<string, Entry>();
  private readonly mem = new Map<string, ChatCompletion>();
  private readonly dbName: string;

  /** @internal use openResponseCache() */
  constructor(readonly name: string, private readonly options: ResponseCacheOptions) {
    this.dbName = DB_PREFIX + name;
  }

  /** @internal */
  async open(): Promise<void> {
    if (this.options.persist === false) return;
    this.db = await openDb(this.dbName, 1, (db) => db.createObjectStore('entries', { keyPath: 'key' }));
    await this.reload();
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(this.dbName);
      this.channel.onmessage = () => void this.reload().catch(() => {});
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Is this request one the cache may answer (deterministic, one choice)? */
  static cacheable(r: ChatCompletionRequest): boolean {
    return (r.temperature === 0 || typeof r.seed === 'number') && (r.n === undefined || r.n === null || r.n === 1);
  }

  /** The hook an engine calls; `model` names the loaded model (name, format, weight bytes). */
  bind(model: string): ResponseCacheHook {
    return {
      accepts: (r) => ResponseCache.cacheable(r),
      get: (r) => this.get(model, r),
      put: (r, res) => this.put(model, r, res),
    };
  }

  /** A cached reply to `r` on `model`, with `usage.response_cache` set; undefined on a miss. */
  async get(model: string, r: Omit<ChatCompletionRequest, 'signal'>): Promise<ChatCompletion | undefined> {
    const t0 = performance.now();
    const now = Date.now();
    const maxAge = this.options.maxAgeMs ?? 7 * 24 * 3600e3;
    const keys = await this.keys(model, r);
    let found: { key: string; kind: 'exact' | 'semantic'; similarity: number } | undefined;
    const exact = this.entries.get(keys.exact);
    if (exact && now - exact.createdAt <= maxAge) found = { key: keys.exact, kind: 'exact', similarity: 1 };
    else if (keys.group && this.options.semantic) {
      const threshold = this.options.semantic.threshold ?? 0.95;
      const v = await this.embedLast(r.messages);
      let best = -Infinity;
      for (const e of this.entries.values()) {
        if (e.group !== keys.group || !e.vector || now - e.createdAt > maxAge) continue;
        const s = dot(v, e.vector);
        if (s > best) {
          best = s;
          if (s >= threshold) found = { key: e.key, kind: 'semantic', similarity: s };
        }
      }
    }
    if (!found) return undefined;
    const response = await this.read(found.key);
    if (!response) return undefined;
    const e = this.entries.get(found.key)!;
    e.lastUsedAt = now;
    void this.touch(e);
    const info: CacheHitInfo = { kind: found.kind, similarity: found.similarity, age_ms: now - e.createdAt };
    const ms = performance.now() - t0;
    return {
      ...response,
      usage: { ...response.usage, time_to_first_token_ms: ms, prefill_tokens_per_s: 0, decode_tokens_per_s: 0, response_cache: info },
    };
  }

  /** Stores `res` as the reply to `r` on `model` (a no-op for requests that are not cacheable). */
  async put(model: string, r: Omit<ChatCompletionRequest, 'signal'>, res: ChatCompletion): Promise<void> {
    if (!ResponseCache.cacheable(r)) return;
    const keys = await this.keys(model, r);
    const vector = keys.group && this.options.semantic ? await this.embedLast(r.messages) : null;
    const { response_cache: _, ...usage } = res.usage;
    const response = { ...res, usage };
    const now = Date.now();
    const e: Entry = { key: keys.exact, group: keys.group, vector, createdAt: now, lastUsedAt: now, bytes: JSON.stringify(response).length * 2 + (vector ? vector.byteLength : 0) };
    const evict = this.plan(e);
    if (this.db) {
      const tx = this.db.transaction('entries', 'readwrite');
      const s = tx.objectStore('entries');
      for (const k of evict) s.delete(k);
      s.put({ ...e, response } satisfies Stored);
      try {
        await done(tx);
      } catch (err) {
        throw writeError(err, 'a cached response', this.dbName, e.bytes);
      }
      this.channel?.postMessage('changed');
    } else this.mem.set(e.key, response);
    for (const k of evict) {
      this.entries.delete(k);
      this.mem.delete(k);
    }
    this.entries.set(e.key, e);
  }

  async clear(): Promise<void> {
    if (this.db) {
      const tx = this.db.transaction('entries', 'readwrite');
      tx.objectStore('entries').clear();
      await done(tx);
      this.channel?.postMessage('changed');
    }
    this.entries.clear();
    this.mem.clear();
  }

  close(): void {
    this.channel?.close();
    this.db?.close();
    this.db = undefined;
  }

  /** Deletes the cache `name` from IndexedDB. */
  static delete(name = 'default'): Promise<void> {
    return deleteDb(DB_PREFIX + name);
  }

  /** Keys to evict so that `e` fits: expired ones, then least recently used past the limits. */
  private plan(e: Entry): string[] {
    const maxEntries = this.options.maxEntries ?? 500;
    const maxBytes = this.options.maxBytes ?? 16 << 20;
    const maxAge = this.options.maxAgeMs ?? 7 * 24 * 3600e3;
    const live = [...this.entries.values()].filter((x) => x.key !== e.key);
    const out = live.filter((x) => e.createdAt - x.createdAt > maxAge).map((x) => x.key);
    const keep = live.filter((x) => !out.includes(x.key)).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    let n = keep.length + 1;
    let bytes = keep.reduce((a, x) => a + x.bytes, e.bytes);
    for (const x of keep) {
      if (n <= maxEntries && bytes <= maxBytes) break;
      out.push(x.key);
      n--;
      bytes -= x.bytes;
    }
    return out;
  }

  private async keys(model: string, r: Omit<ChatCompletionRequest, 'signal'>): Promise<{ exact: string; group: string | null }> {
    const params = Object.fromEntries(Object.entries(r).filter(([k, v]) => !IGNORED.has(k) && k !== 'messages' && v !== undefined && v !== null));
    const msgs = r.messages ?? [];
    const exact = await sha256(canonical({ model, params, messages: msgs }));
    const last = msgs[msgs.length - 1];
    const group = last?.role === 'user' ? await sha256(canonical({ model, params, messages: msgs.slice(0, -1) })) : null;
    return { exact, group };
  }

  private async embedLast(msgs: ChatMessage[]): Promise<Float32Array> {
    const [v] = await this.options.semantic!.embedder.embed([textOf(msgs[msgs.length - 1])], { normalize: true });
    return normalize(v);
  }

  private async read(key: string): Promise<ChatCompletion | undefined> {
    if (!this.db) return this.mem.get(key);
    return ((await req(this.db.transaction('entries').objectStore('entries').get(key))) as Stored | undefined)?.response;
  }

  private async touch(e: Entry): Promise<void> {
    if (!this.db) return;
    const tx = this.db.transaction('entries', 'readwrite');
    const s = tx.objectStore('entries');
    const rec = (await req(s.get(e.key))) as Stored | undefined;
    if (rec) s.put({ ...rec, lastUsedAt: e.lastUsedAt });
    await done(tx).catch(() => {}); // recency is a hint; losing it costs nothing
  }

  private async reload(): Promise<void> {
    if (!this.db) return;
    const s = this.db.transaction('entries').objectStore('entries');
    const all = (await req(s.getAll())) as Stored[];
    this.entries.clear();
    for (const { response: _, ...e } of all) this.entries.set(e.key, e);
  }
}

function textOf(m: ChatMessage): string {
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).map((p) => p.text).join('');
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length && i < b.length; i++) s += a[i] * b[i];
  return s;
}

/** JSON with object keys sorted, so equal requests give equal strings whatever their key order. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
}

async function sha256(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}
