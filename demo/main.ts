/**
 * The demo page: pick a model (hub list, a models JSON, a URL, or local files or a folder), watch it load, chat
 * with it, and see how fast it runs. Model text is rendered by demo/markdown.ts, which never uses innerHTML.
 * `body[data-state]` says what the page is doing (idle, loading, ready, generating, error) for the e2e tests.
 */
import { load, cache, type Engine, type LoadProgress } from '../src/index.ts';
import { streamChat, type ChatMessage } from './chat.ts';
import { loadCatalog, deviceBudget, estimateFit, formatBytes, type CatalogModel, type DeviceBudget, type Fit } from './models.ts';
import { renderMarkdown } from './markdown.ts';
import { drawSpeedChart, type SpeedPoint } from './chart.ts';
import { explainError } from './explain-error.ts';
import { fitChat } from './fit-context.ts';
import { persistSettings, save } from './persist.ts';
import { initDocuments } from './documents.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);
const button = (id: string) => $<HTMLButtonElement>(id);

let engine: Engine | undefined;
let history: ChatMessage[] = [];
let controller: AbortController | undefined;
const speeds: SpeedPoint[] = [];
let device: DeviceBudget = { webgpu: false };

type State = 'idle' | 'loading' | 'ready' | 'generating' | 'error';
function setState(s: State): void {
  document.body.dataset.state = s;
  const busy = s === 'loading' || s === 'generating';
  button('load-btn').disabled = busy;
  input('model-file').disabled = busy;
  input('model-folder').disabled = busy;
  const canChat = !!engine && !busy;
  const box = $<HTMLTextAreaElement>('chat-input');
  box.disabled = !engine || s === 'loading';
  box.placeholder = engine ? 'Ask something (Enter sends, Shift+Enter starts a new line)' : 'Load a model, then ask something';
  button('send-btn').disabled = !canChat;
  button('stop-btn').disabled = s !== 'generating';
}

function showBanner(e: unknown, during: 'load' | 'chat' = 'chat'): void {
  const x = explainError(e, during);
  // Shown where the user is looking: above the chat box for a reply, under the model picker for a load.
  if (during === 'chat') $('chat-form').before($('banner'));
  else $('progress-box').after($('banner'));
  $('banner').hidden = false;
  $('banner').dataset.kind = x.kind;
  $('banner-title').textContent = x.title;
  $('banner-detail').textContent = ' ' + x.detail;
}

function clearBanner(): void {
  $('banner').hidden = true;
  delete $('banner').dataset.kind;
}

// ---- model picker ----

const FIT_LABEL: Record<Fit, string> = { fits: 'fits', tight: 'tight — may not fit', 'too-large': 'too large', unknown: 'unknown' };

function renderModelList(models: CatalogModel[]): void {
  const body = $('model-list');
  body.replaceChildren();
  models.forEach((m, i) => {
    const tr = document.createElement('tr');
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'model';
    radio.value = m.source;
    radio.id = `model-${i}`;
    radio.addEventListener('change', () => {
      input('model-url').value = m.source;
      save('model-url', m.source);
      $('model-info').textContent = estimateFit(m, device) === 'too-large' && device.webgpu
        ? `${m.name} is probably too large for this device (${formatBytes(m.bytes)}); loading may fail.` : '';
    });
    const name = document.createElement('label');
    name.htmlFor = radio.id;
    name.textContent = m.name;
    if (m.note) {
      const note = document.createElement('span');
      note.className = 'muted';
      note.textContent = ` · ${m.note}`;
      name.append(note);
    }
    const fit = estimateFit(m, device);
    const badge = document.createElement('span');
    badge.className = `fit ${fit}`;
    badge.textContent = device.webgpu ? FIT_LABEL[fit] : 'no WebGPU';
    const cells = [radio, name, document.createTextNode(formatBytes(m.bytes)), badge];
    for (const c of cells) {
      const td = document.createElement('td');
      td.append(c);
      tr.append(td);
    }
    body.append(tr);
  });
  const first = body.querySelector<HTMLInputElement>('input[type=radio]');
  if (first) {
    first.checked = true;
    input('model-url').value = first.value;
  }
}

// ---- loading ----

const PHASE_LABEL: Record<string, string> = {
  download: 'Downloading', cache: 'Reading from cache', upload: 'Uploading to GPU', compile: 'Compiling kernels', ready: 'Ready',
};

/** `local`: picked files are read, not downloaded (the loader reports them as its 'download' phase). `live`: false
 *  once the load failed or another began: progress comes on its own channel and can arrive after load() settles. */
function progressReporter(local: boolean, live: () => boolean): (p: LoadProgress) => void {
  const t0 = performance.now();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return (p) => {
    if (!live()) return;
    const bar = $<HTMLProgressElement>('progress');
    bar.value = p.fraction;
    const phase: string = p.phase; // 'cache' arrives with the model cache (issue 5)
    $('progress-box').dataset.phase = phase;
    const label = local && phase === 'download' ? 'Reading local files' : PHASE_LABEL[phase] ?? phase;
    let text = `${label} · ${Math.round(p.fraction * 100)}%`;
    if ((phase === 'download' || phase === 'cache') && p.loaded) {
      text += ` · ${mb(p.loaded)}${p.total ? ` of ${mb(p.total)}` : ''} MB`;
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0.2 ? p.loaded / secs : 0;
      if (rate) text += ` · ${mb(rate)} MB/s`;
      if (rate && p.total) text += ` · ${Math.max(0, (p.total - p.loaded) / rate).toFixed(0)} s left`;
    }
    $('progress-text').textContent = text;
  };
}

let loadSeq = 0;

async function loadModel(source: string | File[]): Promise<void> {
  const seq = ++loadSeq;
  let failed = false;
  clearBanner();
  setState('loading');
  const old = engine;
  engine = undefined;
  await old?.dispose().catch(() => {});
  $('progress-box').hidden = false;
  $<HTMLProgressElement>('progress').value = 0;
  $('progress-text').textContent = 'Starting…';
  $('model-info').textContent = '';
  try {
    const src = typeof source === 'string' ? absolute(source) : source;
    engine = await load(src, { onProgress: progressReporter(typeof source !== 'string', () => seq === loadSeq && !failed) });
    const i = engine.info;
    $('model-info').textContent =
      `${i.name}: ${i.config.arch}, ${i.config.nLayers} layers, context ${i.contextLength}, ` +
      `${formatBytes(i.memory.weightBytes + i.memory.cacheBytes)} on the GPU (${i.gpu.adapter || 'WebGPU'}), loaded in ${(i.loadMs / 1000).toFixed(1)} s`;
    newChat();
    setState('ready');
    $<HTMLTextAreaElement>('chat-input').focus();
  } catch (e) {
    failed = true;
    showBanner(e, 'load');
    $('progress-text').textContent = 'Load failed.';
    setState('error');
  }
  void refreshCache();
}

/** Relative URLs in the box are relative to the page; `hf:` sources go to load() as they are. */
function absolute(source: string): string {
  const s = source.trim();
  return s.startsWith('hf:') ? s : new URL(s, location.href).href;
}

// ---- cache ----

async function refreshCache(): Promise<void> {
  const list = $('cache-list');
  try {
    const [models, usage] = await Promise.all([cache.list(), cache.usage()]);
    $('cache-usage').textContent = models.length
      ? `${formatBytes(usage.bytes)} in the browser's storage${usage.quota ? ` (quota ${formatBytes(usage.quota)})` : ''}.`
      : 'Nothing cached yet: a model is kept here after its first download.';
    list.replaceChildren(...models.map((m) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.textContent = `${m.url.split('/').pop() ?? m.key} · ${formatBytes(m.bytes)}`;
      name.title = m.url;
      const del = document.createElement('button');
      del.type = 'button';
      del.textContent = 'Delete';
      del.className = 'delete';
      del.addEventListener('click', async () => {
        del.disabled = true;
        await cache.delete(m.key);
        await refreshCache();
      });
      li.append(name, ' ', del);
      return li;
    }));
  } catch (e) {
    $('cache-usage').textContent = `The cache could not be read: ${(e as Error).message}`;
  }
}

// ---- chat ----

function addMessage(role: ChatMessage['role'], text: string): HTMLElement {
  const div = document.createElement('div');
  div.className = `msg ${role}`;
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = role === 'user' ? 'You' : 'Model';
  const body = document.createElement('div');
  body.className = 'body';
  body.append(renderMarkdown(text));
  div.append(who, body);
  $('messages').append(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

function newChat(): void {
  controller?.abort();
  history = [];
  notedDrops = 0;
  $('messages').replaceChildren();
}

function settings() {
  const num = (id: string, dflt: number) => {
    const v = Number(input(id).value);
    return Number.isFinite(v) ? v : dflt;
  };
  return { maxTokens: num('max-tokens', 256), temperature: num('temperature', 0.7), topP: num('top-p', 0.95) };
}

/** Earlier messages already reported as left out of the context (a note in the transcript says so once). */
let notedDrops = 0;

/** A line in the transcript from the page itself (not a message), placed before `where`. */
function addNote(text: string, where: Element): void {
  const p = document.createElement('p');
  p.className = 'note muted';
  p.textContent = text;
  where.before(p);
}

async function send(text: string): Promise<void> {
  if (!engine || !text.trim()) return;
  clearBanner();
  const system = $<HTMLTextAreaElement>('system-prompt').value.trim();
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const reply = addMessage('assistant', '');
  const body = reply.querySelector<HTMLElement>('.body')!;
  reply.classList.add('streaming');
  controller = new AbortController();
  setState('generating');
  let out = '';
  let pending = false;
  const render = () => {
    pending = false;
    body.replaceChildren(renderMarkdown(out));
    reply.scrollIntoView({ block: 'end' });
  };
  try {
    const s = settings();
    const fit = await fitChat(engine, system, history, s.maxTokens);
    if (fit.dropped > notedDrops) {
      notedDrops = fit.dropped;
      addNote(`The conversation no longer fits the model's ${engine.info.contextLength}-token context: the ${fit.dropped} oldest ` +
        `message${fit.dropped > 1 ? 's are' : ' is'} left out of what the model sees.`, reply);
    }
    const r = await streamChat(engine, fit.messages, { ...s, maxTokens: fit.maxTokens }, controller.signal, (t) => {
      out += t;
      if (!pending) {
        pending = true;
        requestAnimationFrame(render);
      }
    });
    render();
    history.push({ role: 'assistant', content: out });
    reply.dataset.finish = r.finishReason;
    if (r.finishReason === 'abort') reply.classList.add('stopped');
    showMetrics(r);
  } catch (e) {
    render();
    if (controller.signal.aborted) {
      // Stopped before the stream began: keep what arrived, as a stopped reply.
      history.push({ role: 'assistant', content: out });
      reply.dataset.finish = 'abort';
      reply.classList.add('stopped');
    } else {
      history.pop();
      reply.dataset.finish = 'error';
      if (!out) reply.remove(); // no empty "Model" bubble for a refused request
      showBanner(e);
    }
  } finally {
    reply.classList.remove('streaming');
    controller = undefined;
    setState(engine ? 'ready' : 'error');
  }
}

function showMetrics(r: { timeToFirstTokenMs: number; prefillTokensPerSec: number; decodeTokensPerSec: number; promptTokens: number; completionTokens: number }): void {
  $('m-ttft').textContent = `${r.timeToFirstTokenMs.toFixed(0)} ms`;
  // A reply stopped before its usage arrived has no prefill figure: show none rather than 0.
  const prefill = r.prefillTokensPerSec > 0 ? r.prefillTokensPerSec : NaN;
  $('m-prefill').textContent = Number.isNaN(prefill) ? '–' : `${prefill.toFixed(1)} tok/s`;
  $('m-decode').textContent = `${r.decodeTokensPerSec.toFixed(1)} tok/s`;
  $('m-tokens').textContent = `${r.promptTokens} in · ${r.completionTokens} out`;
  speeds.push({ prefill, decode: r.decodeTokensPerSec });
  drawSpeedChart($('speed-chart') as unknown as SVGSVGElement, speeds);
}

// ---- wiring ----

button('load-btn').addEventListener('click', () => {
  const url = input('model-url').value.trim();
  if (url) void loadModel(url);
});
input('model-url').addEventListener('keydown', (e) => {
  if (e.key === 'Enter') button('load-btn').click();
});
// Picked files (or a folder's files) go to load() together: it finds config.json, tokenizer.json and shards by name.
for (const id of ['model-file', 'model-folder']) {
  input(id).addEventListener('change', () => {
    const files = [...(input(id).files ?? [])];
    input(id).value = ''; // picking the same files again (after adding a missing one) fires 'change' again
    if (files.length) void loadModel(files);
  });
}
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const box = $<HTMLTextAreaElement>('chat-input');
  const text = box.value;
  box.value = '';
  void send(text);
});
$('chat-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    if (!button('send-btn').disabled) $<HTMLFormElement>('chat-form').requestSubmit();
  }
});
button('stop-btn').addEventListener('click', () => controller?.abort());
button('clear-btn').addEventListener('click', newChat);

async function start(): Promise<void> {
  setState('idle');
  drawSpeedChart($('speed-chart') as unknown as SVGSVGElement, speeds);
  const [catalog, dev] = await Promise.all([loadCatalog(), deviceBudget()]);
  device = dev;
  $('device').textContent = dev.webgpu
    ? `WebGPU: ${dev.adapter}. Largest buffer ${formatBytes(dev.maxBufferBytes ?? 0)}; rough model budget ${formatBytes(dev.budgetBytes ?? 0)}.`
    : 'WebGPU: not available.';
  if (!dev.webgpu) {
    $('banner').hidden = false;
    $('banner').dataset.kind = 'webgpu';
    $('banner-title').textContent = 'WebGPU is not available in this browser.';
    $('banner-detail').textContent =
      ' llmo runs models on the GPU through WebGPU: use a recent Chrome or Edge (113+), or Safari 26 / Firefox 141+ where WebGPU is on.';
  }
  if (catalog.error) {
    $('list-error').hidden = false;
    $('list-error').textContent = catalog.error;
  }
  renderModelList(catalog.models);
  persistSettings();
  document.body.dataset.catalog = 'ready';
  void initDocuments(() => engine);
  await refreshCache();
}

void start();
