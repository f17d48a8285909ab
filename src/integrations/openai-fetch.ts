/**
 * `openaiFetch(engine)`: a `fetch` that answers OpenAI's REST routes in the page from a loaded engine, so the official
 * `openai` client works unchanged:
 *
 *   const client = new OpenAI({ fetch: openaiFetch(engine), apiKey: 'local', dangerouslyAllowBrowser: true });
 *
 * Routes (any base URL; matched on the path's end): POST /chat/completions, POST /completions, POST /embeddings,
 * GET /models, GET /models/{id}. Each one is a thin translation onto the engine's own API
 * (engine.chat.completions.create, engine.completions.create, engine.embeddings.create): streaming becomes
 * server-sent events, typed llmo errors become OpenAI error bodies with a matching HTTP status, the request's
 * AbortSignal (and cancelling the body) aborts the engine request.
 */
import type { Engine } from '../engine.ts';
import { AbortError, EngineStateError, InvalidRequestError, UnsupportedModelError } from '../errors.ts';

type FetchFn = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

const enc = new TextEncoder();

/** A `fetch` answering OpenAI's chat, completions, embeddings and models routes from `engine`, in-page. */
export function openaiFetch(engine: Engine): FetchFn {
  return async (input, init) => {
    const req = input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input), 'http://llmo.local/');
    const method = (init?.method ?? req?.method ?? 'GET').toUpperCase();
    const signal = init?.signal ?? req?.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    const path = url.pathname.replace(/\/+$/, '');
    try {
      if (method === 'GET' && /\/models$/.test(path)) return json(200, { object: 'list', data: [modelObject(engine)] });
      const one = /\/models\/([^/]+)$/.exec(path);
      if (method === 'GET' && one) {
        const m = modelObject(engine);
        return decodeURIComponent(one[1]) === m.id ? json(200, m) : error(404, `The model '${decodeURIComponent(one[1])}' does not exist; this engine serves '${m.id}'.`, 'model_not_found');
      }
      if (method !== 'POST') return error(404, `llmo answers POST /chat/completions, /completions, /embeddings and GET /models; not ${method} ${url.pathname}.`, 'not_found');
      const body = await readBody(init?.body ?? (req ? await req.text() : undefined));
      if (/\/chat\/completions$/.test(path)) return await run(engine.chat.completions.create({ ...body, signal } as never), body, signal);
      if (/\/completions$/.test(path)) return await run(engine.completions.create({ ...body, signal } as never), body, signal);
      // A chat model asked for embeddings: the engine's UnsupportedModelError, answered as 400.
      if (/\/embeddings$/.test(path)) return json(200, await engine.embeddings.create({ ...body, signal } as never));
      return error(404, `llmo answers POST /chat/completions, /completions and /embeddings; not ${url.pathname}.`, 'not_found');
    } catch (e) {
      if (signal?.aborted || e instanceof AbortError) throw signal?.aborted ? abortReason(signal) : new DOMException((e as Error).message, 'AbortError');
      return errorFor(e);
    }
  };
}

function modelObject(engine: Engine) {
  return { id: engine.info.name, object: 'model' as const, created: Math.floor(Date.now() / 1000), owned_by: 'llmo' };
}

async function readBody(body: BodyInit | null | undefined): Promise<Record<string, unknown>> {
  if (body === undefined || body === null) throw new InvalidRequestError('The request has no body; send a JSON object.');
  const text = typeof body === 'string' ? body : await new Response(body).text();
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidRequestError('The request body is not JSON; send a JSON object.');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InvalidRequestError('The request body must be a JSON object.');
  return v as Record<string, unknown>;
}

/**
 * A non-streaming result becomes one JSON body. A stream becomes SSE: the first chunk is awaited before answering,
 * so a request the engine rejects (bad field, prompt too long) gets an HTTP error status, as from OpenAI.
 */
async function run(r: Promise<unknown> | AsyncIterable<unknown> & { abort(): void }, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  if (!body.stream) return json(200, await (r as Promise<unknown>));
  const stream = r as AsyncIterable<unknown> & { abort(): void };
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  let done = false;
  const sse = new ReadableStream<Uint8Array>({
    start(c) {
      if (first.done) {
        c.enqueue(enc.encode('data: [DONE]\n\n'));
        c.close();
        done = true;
        return;
      }
      c.enqueue(event(first.value));
    },
    async pull(c) {
      if (done) return;
      try {
        const n = await it.next();
        if (n.done) {
          done = true;
          c.enqueue(enc.encode('data: [DONE]\n\n'));
          c.close();
        } else {
          c.enqueue(event(n.value));
        }
      } catch (e) {
        done = true;
        if (signal?.aborted || e instanceof AbortError) {
          c.error(signal?.aborted ? abortReason(signal) : new DOMException((e as Error).message, 'AbortError'));
        } else {
          // After the headers, an error travels as an SSE event with an `error` object (the client throws APIError).
          c.enqueue(event({ error: errorBody(e) }));
          c.close();
        }
      }
    },
    cancel() {
      done = true;
      stream.abort();
    },
  }, { highWaterMark: 0 });
  return new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } });
}

const event = (v: unknown) => enc.encode(`data: ${JSON.stringify(v)}\n\n`);

function json(status: number, v: unknown): Response {
  // x-should-retry: the openai client retries 5xx answers; an in-page engine's failure will not change on retry.
  return new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json', 'x-should-retry': 'false' } });
}

function error(status: number, message: string, code: string, type = 'invalid_request_error'): Response {
  return json(status, { error: { message, type, param: null, code } });
}

function errorBody(e: unknown) {
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, type: err instanceof InvalidRequestError ? 'invalid_request_error' : 'server_error', param: null, code: err.name };
}

/** llmo's typed errors → the HTTP status OpenAI would use for the same mistake. */
function errorFor(e: unknown): Response {
  // ContextOverflowError is an InvalidRequestError: 400, as OpenAI answers context_length_exceeded.
  const status = e instanceof InvalidRequestError || e instanceof UnsupportedModelError ? 400 : e instanceof EngineStateError ? 503 : 500;
  return json(status, { error: errorBody(e) });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The request was aborted.', 'AbortError');
}
