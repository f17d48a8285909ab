/**
 * The demo's Compare panel: several quantizations of one model, side by side. Each is loaded in turn (its own worker),
 * scored with engine.evaluate() on a text (perplexity, llama.cpp's windows), timed on a short greedy generation,
 * then disposed; the table and a bar chart show perplexity, size, load time and decode tok/s.
 */
import { load } from '../src/index.ts';
import { explainError } from './explain-error.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('compare-form');
const urls = $<HTMLTextAreaElement>('compare-urls');
const textUrl = $<HTMLInputElement>('compare-text');
const windowsInput = $<HTMLInputElement>('compare-windows');
const status = $<HTMLSpanElement>('compare-status');
const body = $<HTMLTableSectionElement>('compare-rows');
const chart = document.getElementById('compare-chart') as unknown as SVGSVGElement;

export interface CompareRow {
  name: string;
  perplexity?: number;
  weightMiB?: number;
  loadMs?: number;
  decodeTokS?: number;
  error?: string;
}

const fmt = (v: number | undefined, digits: number) => (v === undefined ? '–' : v.toFixed(digits));

function render(rows: CompareRow[]): void {
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement('tr');
    const cells = r.error ? [r.name, r.error] : [r.name, fmt(r.perplexity, 2), fmt(r.weightMiB, 1), fmt(r.loadMs, 0), fmt(r.decodeTokS, 1)];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      if (r.error && c === r.error) td.colSpan = 4;
      tr.append(td);
    }
    return tr;
  }));
  drawBars(rows.filter((r) => r.perplexity !== undefined));
}

/** Horizontal bars: perplexity (lower is better) and decode tok/s, each scaled to its own maximum. */
function drawBars(rows: CompareRow[]): void {
  const SVG = 'http://www.w3.org/2000/svg';
  const w = 480, rowH = 30, pad = 130;
  const h = Math.max(1, rows.length) * rowH + 20;
  chart.setAttribute('viewBox', `0 0 ${w} ${h}`);
  chart.replaceChildren();
  const el = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    chart.append(e);
  };
  const maxP = Math.max(1, ...rows.map((r) => r.perplexity ?? 0));
  const maxS = Math.max(1, ...rows.map((r) => r.decodeTokS ?? 0));
  const span = w - pad - 80;
  rows.forEach((r, i) => {
    const y = 10 + i * rowH;
    el('text', { x: 4, y: y + 15, class: 'tick' }, r.name.replace(/\.gguf$/, '').slice(-18));
    el('rect', { x: pad, y, width: (span * (r.perplexity ?? 0)) / maxP, height: 10, class: 'bar ppl' });
    el('text', { x: pad + (span * (r.perplexity ?? 0)) / maxP + 4, y: y + 9, class: 'tick' }, fmt(r.perplexity, 1));
    el('rect', { x: pad, y: y + 12, width: (span * (r.decodeTokS ?? 0)) / maxS, height: 10, class: 'bar speed' });
    el('text', { x: pad + (span * (r.decodeTokS ?? 0)) / maxS + 4, y: y + 21, class: 'tick' }, `${fmt(r.decodeTokS, 0)} tok/s`);
  });
}

/** Loads one model, evaluates it on `text` and times 32 greedy tokens. */
export async function compareOne(url: string, text: string, maxWindows: number, onStatus: (s: string) => void): Promise<CompareRow> {
  const name = url.split('/').pop() ?? url;
  onStatus(`${name}: loading`);
  const engine = await load(url, { onProgress: (p) => onStatus(`${name}: ${p.phase} ${Math.round(p.fraction * 100)}%`) });
  try {
    onStatus(`${name}: perplexity over ${maxWindows} windows`);
    const window = Math.min(engine.info.contextLength, 512);
    const ev = await engine.evaluate(text, { window, maxWindows });
    onStatus(`${name}: timing a generation`);
    const gen = await engine.complete(text.slice(0, 200), { maxTokens: 32, temperature: 0, ignoreEos: true });
    return {
      name, perplexity: ev.perplexity, weightMiB: engine.info.memory.weightBytes / 2 ** 20,
      loadMs: engine.info.loadMs, decodeTokS: gen.stats.decodeTokensPerSec,
    };
  } finally {
    await engine.dispose();
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const list = urls.value.split('\n').map((l) => l.trim()).filter(Boolean);
  const rows: CompareRow[] = [];
  try {
    status.textContent = 'fetching the text…';
    const text = await (await fetch(textUrl.value.trim())).text();
    for (const url of list) {
      try {
        rows.push(await compareOne(url, text, Math.max(1, Number(windowsInput.value) || 4), (s) => (status.textContent = s)));
      } catch (e) {
        const x = explainError(e, 'load');
        rows.push({ name: url.split('/').pop() ?? url, error: `${x.title} ${x.detail}` });
      }
      render(rows);
    }
    status.textContent = `done: ${rows.length} models`;
  } catch (e) {
    const x = explainError(e, 'load');
    status.textContent = `${x.title} ${x.detail}`;
  }
});
