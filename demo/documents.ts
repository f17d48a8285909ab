/**
 * The demo's Documents panel: drop or pick text / Markdown / HTML / PDF files into a store kept in IndexedDB (keyword
 * search; no embedding model is loaded in the demo), see each document's chunks, ask a question of the loaded chat
 * model with `rag().ask`, and click a citation to see its passage highlighted in its document. No innerHTML: every
 * piece of text is a text node.
 */
import { store, rag, type DocumentStore, type Engine, type Citation } from '../src/index.ts';
import { explainError } from './explain-error.ts';
import { isPdf, readPdf } from './pdf.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string) => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

let kb: DocumentStore | undefined;

export async function initDocuments(engine: () => Engine | undefined): Promise<void> {
  try {
    kb = await store('demo-documents', { chunk: { maxTokens: 96, overlapTokens: 16 } });
  } catch (e) {
    $('docs-status').textContent = explainError(e, 'chat').title;
    return;
  }
  renderList();
  const files = $<HTMLInputElement>('docs-files');
  files.addEventListener('change', () => void addFiles([...(files.files ?? [])]).finally(() => (files.value = '')));
  const zone = $('documents');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('drop'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('drop'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('drop');
    void addFiles([...(e.dataTransfer?.files ?? [])]);
  });
  $('docs-clear').addEventListener('click', () => void kb!.clear().then(renderList));
  $('docs-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void ask(engine());
  });
}

async function addFiles(list: File[]): Promise<void> {
  if (!kb || !list.length) return;
  const status = $('docs-status');
  try {
    const docs = await Promise.all(list.map(async (f) => {
      const meta = { title: f.name, bytes: f.size };
      return isPdf(f) ? { id: f.name, pages: await readPdf(f), meta } : { id: f.name, text: await f.text(), meta };
    }));
    const r = await kb.upsert(docs, { onProgress: (p) => (status.textContent = `${p.phase} · ${p.chunks}/${p.totalChunks} chunks`) });
    status.textContent = `Added ${r.docs} document${r.docs === 1 ? '' : 's'} (${r.chunks} chunks).`;
  } catch (e) {
    status.textContent = `${explainError(e, 'chat').title} ${(e as Error).message}`;
  }
  renderList();
}

function renderList(): void {
  const ul = $('docs-list');
  ul.replaceChildren();
  for (const d of kb?.list() ?? []) {
    const li = el('li');
    const details = el('details');
    const summary = el('summary', `${d.id} · ${d.chunks} chunks`);
    const del = el('button', 'Delete');
    del.type = 'button';
    del.addEventListener('click', () => void kb!.delete(d.id).then(renderList));
    details.append(summary);
    details.addEventListener('toggle', () => {
      if (!details.open || details.childElementCount > 1) return;
      const ol = el('ol', undefined, 'chunks');
      for (const c of kb!.chunksOf(d.id)) ol.append(el('li', c.pages ? `(${pageLabel(c).trim()}) ${c.text}` : c.text));
      details.append(ol);
    });
    li.append(details, del);
    ul.append(li);
  }
  $('docs-count').textContent = kb ? `${kb.stats.docs} documents, ${kb.stats.chunks} chunks` : '';
}

async function ask(engine: Engine | undefined): Promise<void> {
  const answer = $('docs-answer');
  const q = $<HTMLInputElement>('docs-question').value.trim();
  if (!kb || !q) return;
  if (!engine) {
    answer.textContent = 'Load a chat model first (step 1).';
    return;
  }
  answer.replaceChildren();
  $('docs-sources').replaceChildren();
  $('docs-passage').replaceChildren();
  document.body.dataset.docs = 'asking';
  try {
    const s = rag(engine, kb).ask(q, { k: 4, maxTokens: 200, stream: true });
    let text = '';
    for await (const p of s) {
      text += p.text;
      answer.textContent = text;
    }
    const r = await s.result;
    renderAnswer(r.answer, r.citations);
    $('docs-timing').textContent = `retrieval ${r.timings.retrievalMs.toFixed(0)} ms · prefill ${r.timings.prefillMs.toFixed(0)} ms · decode ${r.timings.decodeMs.toFixed(0)} ms`;
  } catch (e) {
    answer.textContent = `${explainError(e, 'chat').title} ${(e as Error).message}`;
  } finally {
    document.body.dataset.docs = 'done';
  }
}

/** The answer with each [n] as a button that shows source n; then the numbered sources. */
function renderAnswer(text: string, citations: Citation[]): void {
  const answer = $('docs-answer');
  answer.replaceChildren();
  let at = 0;
  for (const m of text.matchAll(/\[(\d+(?:,\s*\d+)*)\]/g)) {
    answer.append(document.createTextNode(text.slice(at, m.index)));
    for (const n of m[1].split(',').map((x) => parseInt(x, 10))) {
      const b = el('button', `[${n}]`, 'cite');
      b.type = 'button';
      b.addEventListener('click', () => void showPassage(citations[n - 1]));
      answer.append(b);
    }
    at = m.index + m[0].length;
  }
  answer.append(document.createTextNode(text.slice(at)));
  const ol = $('docs-sources');
  ol.replaceChildren();
  for (const c of citations) {
    const li = el('li');
    const b = el('button', `${c.id} #${c.chunk}${pageLabel(c)}`, 'cite');
    b.type = 'button';
    b.addEventListener('click', () => void showPassage(c));
    li.append(b, el('span', ` ${c.text.slice(0, 140)}${c.text.length > 140 ? '…' : ''}`, c.cited ? '' : 'muted'));
    ol.append(li);
  }
}

/** The cited document with the chunk's passage marked, scrolled into view. */
async function showPassage(c: Citation | undefined): Promise<void> {
  const box = $('docs-passage');
  box.replaceChildren();
  const doc = c && (await kb?.get(c.id));
  if (!c || !doc) return;
  const from = Math.max(0, c.start - 400);
  const to = Math.min(doc.text.length, c.end + 400);
  const mark = el('mark', doc.text.slice(c.start, c.end));
  box.append(el('h3', doc.id + pageLabel(c)), document.createTextNode((from > 0 ? '…' : '') + doc.text.slice(from, c.start)), mark, document.createTextNode(doc.text.slice(c.end, to) + (to < doc.text.length ? '…' : '')));
  mark.scrollIntoView({ block: 'nearest' });
}

const pageLabel = (c: { pages?: [number, number] }) => (!c.pages ? '' : c.pages[0] === c.pages[1] ? ` p. ${c.pages[0]}` : ` pp. ${c.pages[0]}-${c.pages[1]}`);
