/**
 * Node side of `npm run bench:toolbox`: opens Chromium on bench/toolbox/index.html, runs the speculative-decoding and
 * evaluate benchmark in the page, prints tables and writes bench-results/<machine>-toolbox.json.
 *   --target=f32 --draft=q4_0 --tokens=64   --eval=f32,f16,q8_0,q4_0 --windows=4 (153 = all of eval.txt)
 *   --chromium / --args / --no-swiftshader / --machine as in `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { launchChromium, parseFlags, table } from '../cli.ts';
import type { EvalRow, LoraRow, SpecRow, ToolboxBenchConfig } from './page.ts';

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = parseFlags(argv);
  const cfg: ToolboxBenchConfig = {
    target: f.get('target') ?? 'f32',
    draft: f.get('draft') ?? 'q4_0',
    tokens: Number(f.get('tokens') ?? 64),
    evalModels: (f.get('eval') ?? 'f32,f16,q8_0,q4_0').split(','),
    evalWindows: Number(f.get('windows') ?? 4),
  };
  const browser = await launchChromium(f);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' && /^ {2}/.test(m.text())) console.log(m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/toolbox/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    const report = await page.evaluate(
      (c) => (window as unknown as { runToolboxBench: (c: ToolboxBenchConfig) => Promise<{ adapter: string; spec: { prompt: string; rows: SpecRow[] }[]; evaluate: EvalRow[]; lora: LoraRow[] }> }).runToolboxBench(c),
      cfg,
    );
    const machine = f.get('machine') ?? hostname();
    const dir = resolve(root, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = resolve(dir, `${machine}-toolbox.json`);
    writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), browser: browser.version(), config: cfg, ...report }, null, 2));
    console.log(`\n${report.adapter} — ${browser.version()} (a CPU adapter such as SwiftShader measures a CPU)\n`);
    const rows = [['prompt', 'mode', 'decode tok/s', 'vs plain', 'accepted / drafted', 'same tokens']];
    for (const p of report.spec) {
      const plain = p.rows[0].decodeTokS;
      for (const r of p.rows) {
        rows.push([p.prompt, r.mode, r.decodeTokS.toFixed(1), `${(r.decodeTokS / plain).toFixed(2)}×`,
          r.drafted ? `${r.accepted}/${r.drafted} (${((100 * r.accepted!) / r.drafted).toFixed(0)}%)` : '-', r.identical ? 'yes' : 'NO']);
      }
    }
    console.log(table(rows));
    console.log();
    console.log(table([['model', 'perplexity', 'windows', 'evaluate tok/s'], ...report.evaluate.map((e) => [e.model, e.perplexity.toFixed(3), String(e.windows), e.tokensPerSec.toFixed(0)])]));
    console.log();
    const none = report.lora[0];
    console.log(table([['LoRA (sotu-5m ' + cfg.target + ')', 'decode tok/s', 'vs none', 'prefill tok/s', 'vs none'], ...report.lora.map((r) => [
      r.mode, r.decodeTokS.toFixed(1), `${(r.decodeTokS / none.decodeTokS).toFixed(2)}×`, r.prefillTokS.toFixed(0), `${(r.prefillTokS / none.prefillTokS).toFixed(2)}×`])]));
    console.log(`\nwritten ${file}`);
  } finally {
    await browser.close();
  }
}
