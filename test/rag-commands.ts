/**
 * Vitest browser commands (run in Node, act through Playwright) for the document-store tests:
 * - openTab(): a second page of the same origin (another tab: own JS realm, same IndexedDB), with the store module
 *   loaded as `window.rag`; tabEval(id, js) runs an async function body there; reloadTab(id) reloads it for real.
 */
import type { BrowserCommand } from 'vitest/node';
import type { Page } from 'playwright';

const tabs = new Map<number, Page>();
let next = 1;
const origin = (url: string) => new URL(url).origin;
const LOAD = "import * as m from '/src/rag/index.ts'; window.rag = m; window.ragReady = true;";

async function prepare(p: Page): Promise<void> {
  const errors: string[] = [];
  p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.addScriptTag({ type: 'module', content: LOAD });
  await p.waitForFunction(() => (window as unknown as { ragReady?: boolean }).ragReady === true, undefined, { timeout: 20_000 })
    .catch((e) => { throw new Error(`${e.message} url=${p.url()} errors=${errors.join(' | ')}`); });
}

export const openTab: BrowserCommand<[]> = async (ctx) => {
  const p = await ctx.context.newPage();
  // Any same-origin document will do as a host for the module; a plain file keeps vitest's own scripts out.
  await p.goto(`${origin(ctx.page.url())}/package.json`);
  await prepare(p);
  const id = next++;
  tabs.set(id, p);
  return id;
};

export const tabEval: BrowserCommand<[id: number, body: string, arg?: unknown]> = async (_ctx, id, body, arg) => {
  const p = tabs.get(id);
  if (!p) throw new Error(`no tab ${id}`);
  return p.evaluate(([b, a]) => new Function('arg', `return (async () => { ${b} })();`)(a), [body, arg] as const);
};

export const reloadTab: BrowserCommand<[id: number]> = async (_ctx, id) => {
  const p = tabs.get(id)!;
  await p.reload();
  await prepare(p);
};

export const closeTab: BrowserCommand<[id: number]> = async (_ctx, id) => {
  await tabs.get(id)?.close();
  tabs.delete(id);
};

declare module 'vitest/browser' {
  interface BrowserCommands {
    openTab: () => Promise<number>;
    tabEval: <T = unknown>(id: number, body: string, arg?: unknown) => Promise<T>;
    reloadTab: (id: number) => Promise<void>;
    closeTab: (id: number) => Promise<void>;
  }
}
