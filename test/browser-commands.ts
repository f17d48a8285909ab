/**
 * Vitest browser command (runs in Node, act on the Playwright page) for the weight-cache tests:
 * setModelNetwork(false): aborts every request for model data (/shared, /faulty, /fixtures) as a disconnected
 *    network would, from the page and its workers; the test server's own module requests still pass, since a page
 *    that is already open has its code loaded. setModelNetwork(true) lifts it.
 */
import type { BrowserCommand } from 'vitest/node';

const MODEL_DATA = /\/(shared|faulty|fixtures)\//;
const abort = (route: { abort: (code: string) => Promise<void> }) => route.abort('internetdisconnected');

export const setModelNetwork: BrowserCommand<[online: boolean]> = async (ctx, online) => {
  if (online) await ctx.context.unroute(MODEL_DATA, abort);
  else await ctx.context.route(MODEL_DATA, abort);
};

declare module 'vitest/browser' {
  interface BrowserCommands {
    setModelNetwork: (online: boolean) => Promise<void>;
  }
}
