/**
 * Node side of `npm run bench:long`: opens Chromium on bench/long/index.html, runs the long-context decode benchmark
 * in the page, prints tok/s per context (and the ratio to the empty context and to wllama at the same context) and
 * writes bench-results/<machine>-long.json.
 *   --model=URL (default the long_ctx fixture) --contexts=16,2048,4096 --decode=16 --kv=f32,f16,q8_0 --no-wllama
 *   --chromium / --args / --no-swiftshader / --machine as in `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { launchChromium, parseFlags, table } from '../cli.ts';
import type { LongBenchConfig, LongRow } from './page.ts';

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = parseFlags(argv);
  const cfg: LongBenchConfig = {
    model: f.get('model') ?? '/fixtures/long_ctx~llama~q8_0~s27/model.gguf',
    contexts: (f.get('contexts') ?? '16,2048,4096').split(',').map(Number),
    decodeTokens: Number(f.get('decode') ?? 16),
    kvFormats: (f.get('kv') ?? 'f32,f16,q8_0').split(',') as LongBenchConfig['kvFormats'],
    wllama: !f.has('no-wllama'),
  };
  const browser = await launchChromium(f);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' && /^ {2}/.test(m.text())) console.log(m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/long/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    const report = await page.evaluate(
      (c) => (window as unknown as { runLongBench: (c: LongBenchConfig) => Promise<{ adapter: string; rows: LongRow[]; dispatchesPerToken: number; kvBytes: Record<string, number> }> }).runLongBench(c),
      cfg,
    );
    const machine = f.get('machine') ?? hostname();
    const dir = resolve(root, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `${machine}-long.json`);
    writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), browser: browser.version(), config: cfg, ...report }, null, 2));
    console.log(`\n${report.adapter} — ${browser.version()} (a CPU adapter such as SwiftShader measures a CPU)`);
    console.log(`${cfg.model}: ${report.dispatchesPerToken} dispatches per decoded token (llmo); cache + activation bytes ${JSON.stringify(report.kvBytes)}\n`);
    const empty = Math.min(...cfg.contexts);
    const at = (engine: string, c: number) => report.rows.find((r) => r.engine === engine && r.context === c)?.decodeTokS;
    const out = [['engine', 'context', 'decode tok/s', `vs @${empty}`, 'vs wllama-cpu']];
    for (const r of report.rows) {
      const e0 = at(r.engine, empty);
      const w = at('wllama-cpu kv f32', r.context);
      out.push([r.engine, String(r.context), r.decodeTokS.toFixed(1), e0 ? `${(r.decodeTokS / e0).toFixed(2)}×` : '-', w ? `${(r.decodeTokS / w).toFixed(2)}×` : '-']);
    }
    console.log(table(out));
    console.log(`\nwritten ${file}`);
  } finally {
    await browser.close();
  }
}
