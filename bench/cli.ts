/** What every `npm run bench:*` runner shares: its flags, the Chromium it drives, and the tables it prints. */
import { chromium, type Browser } from 'playwright';
import { CHROMIUM_WEBGPU_ARGS } from '../vitest.config.ts';

export type Flags = Map<string, string>;

/** `--key=value` and bare `--key` (= 'true') flags. */
export function parseFlags(argv: string[]): Flags {
  return new Map(argv.map((a) => { const [k, ...v] = a.replace(/^--/, '').split('='); return [k, v.join('=') || 'true'] as const; }));
}

/**
 * Headless Chromium with WebGPU: --chromium=PATH [LLMO_CHROMIUM], extra --args="…" [LLMO_CHROMIUM_ARGS];
 * --no-swiftshader drops the SwiftShader flags (a machine with a real GPU).
 */
export function launchChromium(f: Flags): Promise<Browser> {
  const base = f.has('no-swiftshader') ? CHROMIUM_WEBGPU_ARGS.filter((a) => !/swiftshader/.test(a)) : CHROMIUM_WEBGPU_ARGS;
  const extra = (f.get('args') ?? process.env.LLMO_CHROMIUM_ARGS ?? '').split(' ').filter(Boolean);
  return chromium.launch({ executablePath: f.get('chromium') ?? process.env.LLMO_CHROMIUM ?? '/usr/bin/chromium', args: [...base, ...extra], headless: true });
}

/** A Markdown table (first row the header), columns padded. */
export function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r, j) => {
    const line = `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
    return j === 0 ? `${line}\n|${w.map((n) => '-'.repeat(n + 2)).join('|')}|` : line;
  }).join('\n');
}
