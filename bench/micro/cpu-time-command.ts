/**
 * Vitest browser command for the microbenches (runs in Node): CPU milliseconds (user + system, all threads) used so
 * far by this test run's Chromium GPU process, where Dawn and SwiftShader execute. Unlike wall time it does not grow
 * when other processes take the shared cores, so A/B figures from it hold at any load (within cache effects).
 * Linux only (/proc); returns NaN elsewhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { BrowserCommand } from 'vitest/node';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid: number): { ppid: number; ms: number } | undefined {
  try {
    // Fields after the command name (which may hold spaces), from its closing parenthesis.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return { ppid: Number(f[1]), ms: (Number(f[11]) + Number(f[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** The GPU processes among this Node process's descendants (other runs' browsers on the machine are not ours). */
function ourGpuProcesses(): number[] {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map(pids.map((p) => [p, stat(p)?.ppid ?? 0]));
  const ours = (p: number): boolean => {
    for (let q = p, n = 0; q > 1 && n < 64; q = parent.get(q) ?? 0, n++) if (q === process.pid) return true;
    return false;
  };
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--type=gpu-process') && ours(p);
    } catch {
      return false;
    }
  });
}

export const gpuProcessCpuMs: BrowserCommand<[]> = async () => {
  const pids = ourGpuProcesses();
  if (!pids.length) return Number.NaN;
  return pids.reduce((s, p) => s + (stat(p)?.ms ?? 0), 0);
};

/** CPU milliseconds so far per thread (`comm:tid`) of this run's GPU processes. */
export const gpuThreadsCpuMs: BrowserCommand<[]> = async () => {
  const out: Record<string, number> = {};
  for (const p of ourGpuProcesses()) {
    for (const t of readdirSync(`/proc/${p}/task`)) {
      try {
        const comm = readFileSync(`/proc/${p}/task/${t}/comm`, 'utf8').trim();
        const f = readFileSync(`/proc/${p}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
        out[`${comm}:${t}`] = (Number(f[11]) + Number(f[12])) * TICK_MS;
      } catch { /* gone */ }
    }
  }
  return out;
};

/** The machine's 1-minute load average (`uptime`), printed beside every figure. */
export const loadAverage: BrowserCommand<[]> = async () => loadavg()[0];

declare module 'vitest/browser' {
  interface BrowserCommands {
    gpuProcessCpuMs: () => Promise<number>;
    loadAverage: () => Promise<number>;
    gpuThreadsCpuMs: () => Promise<Record<string, number>>;
  }
}
