/** Minimal demo: load a model by URL, stream a completion, show speed. (The full demo page is its own issue.) */
import { load, type Engine, type GenerationStream } from '../src/index.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let engine: Engine | undefined;
let current: GenerationStream | undefined;

function showError(e: unknown) {
  $('error').textContent = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

$('load-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('error').textContent = '';
  $<HTMLButtonElement>('gen-btn').disabled = true;
  $<HTMLButtonElement>('load-btn').disabled = true;
  try {
    await engine?.dispose();
    const url = new URL($<HTMLInputElement>('model-url').value, location.href).href;
    engine = await load(url, {
      onProgress: (p) => {
        $<HTMLProgressElement>('progress').value = p.fraction;
        $('progress-text').textContent = `${p.phase} ${(p.loaded / 2 ** 20).toFixed(1)} MiB${p.total ? ` of ${(p.total / 2 ** 20).toFixed(1)} MiB` : ''}`;
      },
    });
    const i = engine.info;
    $('progress-text').textContent = `${i.name}: ${i.config.arch}, ${i.config.nLayers} layers, loaded in ${i.loadMs.toFixed(0)} ms on ${i.gpu.adapter || 'GPU'}`;
    $<HTMLButtonElement>('gen-btn').disabled = false;
  } catch (e) {
    showError(e);
  } finally {
    $<HTMLButtonElement>('load-btn').disabled = false;
  }
});

$('gen-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!engine) return;
  $('output').textContent = '';
  $('error').textContent = '';
  $<HTMLButtonElement>('stop-btn').disabled = false;
  $<HTMLButtonElement>('gen-btn').disabled = true;
  try {
    current = engine.generate($<HTMLTextAreaElement>('prompt').value, {
      maxTokens: Number($<HTMLInputElement>('max-tokens').value),
      temperature: Number($<HTMLInputElement>('temperature').value),
    });
    // textContent, never innerHTML: model output is untrusted text.
    for await (const c of current) $('output').textContent += c.text;
    const s = (await current.result).stats;
    $('stats').textContent = `first token ${s.timeToFirstTokenMs.toFixed(0)} ms · prefill ${s.prefillTokensPerSec.toFixed(1)} tok/s · ` +
      `decode ${s.decodeTokensPerSec.toFixed(1)} tok/s · ${s.completionTokens} tokens`;
  } catch (e) {
    showError(e);
  } finally {
    $<HTMLButtonElement>('stop-btn').disabled = true;
    $<HTMLButtonElement>('gen-btn').disabled = false;
  }
});

$('stop-btn').addEventListener('click', () => current?.abort());
