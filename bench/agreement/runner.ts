/**
 * Node side of `npm run bench:agreement`: opens Chromium on bench/agreement/index.html, runs the llmo-vs-llama.cpp
 * agreement per weight type in the page, prints a table and writes bench-results/<machine>-agreement.json.
 *   --types=q4_k_m,q6_k,…  (default: the 11 sotu-5m types beyond F32/F16/Q8_0/Q4_0, then f32 as the baseline)
 *   --windows=N (default: all of eval.txt; a partial run writes …-agreement-<N>w.json)  --window=256  --greedy=64
 *   --chromium / --args / --no-swiftshader / --machine as in `npm run bench`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { launchChromium, parseFlags, table } from '../cli.ts';
import type { AgreementBenchConfig, AgreementRow } from './page.ts';

const DEFAULT_TYPES = 'q4_k_m,q5_k_m,q6_k,q3_k_m,q2_k,q4_1,q5_0,q5_1,iq4_nl,iq4_xs,bf16,f32';

export async function main(baseUrl: string, argv: string[], root: string): Promise<void> {
  const f = parseFlags(argv);
  const cfg: AgreementBenchConfig = {
    types: (f.get('types') ?? DEFAULT_TYPES).split(','),
    windows: Number(f.get('windows') ?? 1e9),
    window: Number(f.get('window') ?? 256),
    greedyTokens: Number(f.get('greedy') ?? 64),
  };
  const machine = f.get('machine') ?? hostname();
  const dir = resolve(root, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${machine}-agreement${cfg.windows < 1e9 ? `-${cfg.windows}w` : ''}.json`);
  const browser = await launchChromium(f);
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' && /^ {2}/.test(m.text())) console.log(m.text()); });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(new URL('/bench/agreement/index.html', baseUrl).href);
    await page.waitForFunction(() => (window as unknown as { benchReady?: boolean }).benchReady === true, undefined, { timeout: 120_000 });
    const rows: AgreementRow[] = [];
    let adapter = '';
    // One type per call, so a long run keeps what it measured so far in the JSON.
    for (const type of cfg.types) {
      const r = await page.evaluate(
        (c) => (window as unknown as { runAgreementBench: (c: AgreementBenchConfig) => Promise<{ adapter: string; rows: AgreementRow[] }> }).runAgreementBench(c),
        { ...cfg, types: [type] },
      );
      adapter = r.adapter;
      rows.push(...r.rows);
      writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), browser: browser.version(), adapter, config: cfg, rows }, null, 2));
    }
    console.log(`\n${adapter} — ${browser.version()}; llama.cpp: wllama 3.8.1 WASM CPU, 1 thread, f32 KV cache\n`);
    console.log(table([
      ['type', 'greedy common / teacher-forced', 'ppl llmo', 'ppl llama.cpp', 'diff', 'windows', '|dNLL| max', '|dNLL| mean'],
      ...rows.map((r) => [r.type, `${r.greedy.commonPrefix}/${r.greedy.tokens} / ${(100 * r.greedy.teacherForced).toFixed(1)}%`,
        r.perplexity.llmo.toFixed(4), r.perplexity.llamacpp.toFixed(4), `${(100 * r.perplexity.relDiff).toFixed(3)}%`,
        String(r.perplexity.windows), r.nll.maxAbsDiff.toFixed(4), r.nll.meanAbsDiff.toExponential(2)]),
    ]));
    console.log(`\nwritten ${file}`);
  } finally {
    await browser.close();
  }
}
