// `npm run bench:integrations`: time to first token and decode tok/s of one greedy request through each integration
// (openaiFetch + the openai client, the AI SDK provider + streamText, the Prompt API polyfill) and through the engine
// directly, in one Chromium page on one engine, rounds interleaved. Prints a table; writes
// bench-results/integrations-<host>.json. Flags: --model=URL --ctx=N --rounds=N (LLMO_CHROMIUM / LLMO_CHROMIUM_ARGS).
import { createServer } from 'vite';
import { chromium } from 'playwright';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const flag = (k, d) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const model = flag('model', '/shared/models/sotu-5m/sotu-5m-q8_0.gguf');
const ctx = Number(flag('ctx', '128'));
const rounds = Number(flag('rounds', '5'));

const server = await createServer({ root, configFile: resolve(root, 'vite.config.ts'), logLevel: 'warn', server: { port: 5198, strictPort: false, hmr: false, watch: null } });
await server.listen();
const { CHROMIUM_WEBGPU_ARGS } = await server.ssrLoadModule('/vitest.config.ts');
const browser = await chromium.launch({
  executablePath: process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium',
  args: [...CHROMIUM_WEBGPU_ARGS, ...(process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean)],
  headless: true,
});
let code = 0;
try {
  const page = await browser.newPage();
  page.on('console', (m) => m.type() === 'error' && console.error(m.text()));
  await page.goto(new URL('/bench/integrations/index.html', server.resolvedUrls.local[0]).href);
  await page.waitForFunction(() => 'runIntegrationsBench' in window, null, { timeout: 120_000 });
  const report = await page.evaluate(([m, c, r]) => window.runIntegrationsBench(m, c, r), [model, ctx, rounds]);
  const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const direct = report.paths[0];
  const rows = [['path', 'TTFT ms (median)', 'TTFT - direct ms', 'decode tok/s (median)', 'decode / direct']];
  for (const p of report.paths) {
    rows.push([p.path, med(p.ttftMs).toFixed(1), (med(p.ttftMs) - med(direct.ttftMs)).toFixed(1), med(p.decodeTokPerSec).toFixed(1), (med(p.decodeTokPerSec) / med(direct.decodeTokPerSec)).toFixed(3)]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  console.log(`${report.model}, context ${report.contextLength}, ${report.tokens} tokens per request (greedy, same text on every path), ${report.rounds} rounds, adapter: ${report.adapter}`);
  console.log([line(rows[0]), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n'));
  const d0 = report.overhead[0].msPerRequest;
  console.log(`\nAdapter cost without the GPU (the engine's ${report.overhead[0].chunks} recorded chunks replayed through a stub engine, 200 requests per path):`);
  const orows = [['path', 'ms per request', 'added ms per request', 'added us per chunk'], ...report.overhead.map((o) => [o.path, o.msPerRequest.toFixed(3), (o.msPerRequest - d0).toFixed(3), (((o.msPerRequest - d0) / o.chunks) * 1000).toFixed(1)])];
  const ow = orows[0].map((_, i) => Math.max(...orows.map((r) => r[i].length)));
  const oline = (r) => `| ${r.map((c, i) => c.padEnd(ow[i])).join(' | ')} |`;
  console.log([oline(orows[0]), `|${ow.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...orows.slice(1).map(oline)].join('\n'));
  mkdirSync(resolve(root, 'bench-results'), { recursive: true });
  const file = resolve(root, 'bench-results', `integrations-${flag('machine', hostname())}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2));
  console.log(`wrote ${file}`);
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await browser.close();
  await server.close();
}
process.exit(code);
