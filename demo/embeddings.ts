/**
 * The demo's Embeddings panel: a second engine (an embedding model, in its own worker) embeds one text per line and
 * draws their cosine similarities as a heat map. Vectors come back L2-normalised, so a dot product is the cosine.
 */
import { load, type Engine } from '../src/index.ts';
import { explainError } from './explain-error.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('embed-form');
const urlInput = $<HTMLInputElement>('embed-url');
const lines = $<HTMLTextAreaElement>('embed-lines');
const status = $<HTMLSpanElement>('embed-status');
const canvas = $<HTMLCanvasElement>('embed-map');

// On the dev server, a random-weight MiniLM-shaped fixture (its vectors carry no meaning; it shows the pipeline).
if (import.meta.env.DEV) urlInput.value = '/encoder-fixtures/minilm~f16~s34~mean/model.gguf';

let engine: Engine | undefined;
let engineUrl = '';

export function cosineMatrix(vecs: Float32Array[]): number[][] {
  return vecs.map((a) => vecs.map((b) => a.reduce((s, x, i) => s + x * b[i], 0)));
}

function draw(labels: string[], sim: number[][]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const n = labels.length;
  const pad = 140;
  const cell = (canvas.width - pad) / n;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px system-ui, sans-serif';
  const lo = Math.min(...sim.flat());
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = Math.max(-1, Math.min(1, sim[i][j]));
      // Colour spread over the range present (the lowest pair white, 1 deep blue): small differences stay visible.
      const t = lo < 1 ? (v - lo) / (1 - lo) : 1;
      ctx.fillStyle = `rgb(${255 - 200 * t}, ${255 - 150 * t}, 255)`;
      ctx.fillRect(pad + j * cell, pad + i * cell, cell - 1, cell - 1);
      ctx.fillStyle = t > 0.6 ? '#fff' : '#222';
      ctx.fillText(v.toFixed(2), pad + j * cell + 4, pad + i * cell + cell / 2 + 4);
    }
    ctx.fillStyle = '#222';
    ctx.fillText(labels[i].slice(0, 20), 4, pad + i * cell + cell / 2 + 4);
    ctx.save();
    ctx.translate(pad + i * cell + cell / 2, pad - 4);
    ctx.rotate(-Math.PI / 4);
    ctx.fillText(labels[i].slice(0, 20), 0, 0);
    ctx.restore();
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const texts = lines.value.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 16);
  const url = urlInput.value.trim();
  if (!texts.length || !url) return;
  try {
    if (!engine || engineUrl !== url) {
      await engine?.dispose();
      engine = undefined;
      status.textContent = 'loading…';
      engine = await load(url, { onProgress: (p) => (status.textContent = `${p.phase} ${Math.round(p.fraction * 100)}%`) });
      engineUrl = url;
    }
    status.textContent = 'embedding…';
    const t0 = performance.now();
    const vecs = await engine.embed(texts);
    const ms = performance.now() - t0;
    draw(texts, cosineMatrix(vecs));
    const mem = engine.info.memory;
    status.textContent = `${texts.length} texts in ${ms.toFixed(0)} ms · ${engine.info.embedding?.dim}-d, ${engine.info.embedding?.pooling} pooling · ` +
      `GPU ${((mem.weightBytes + mem.cacheBytes) / 2 ** 20).toFixed(0)} MiB`;
  } catch (e) {
    const x = explainError(e, engine ? 'chat' : 'load');
    status.textContent = `${x.title}: ${x.detail}`;
  }
});
