// `npm run bench`: starts the project's Vite server (it serves ../shared and the fixture models) and hands it to the
// TypeScript runner (bench/runner.ts), loaded through Vite so no build step is needed.
import { createServer } from 'vite';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const server = await createServer({ root, configFile: resolve(root, 'vite.config.ts'), logLevel: 'warn', server: { port: 5199, strictPort: false, hmr: false, watch: null } });
await server.listen();
let code = 0;
try {
  // --embed: the embeddings benchmark (bench/embed/runner.ts) instead of generation.
  // --toolbox: speculative decoding and evaluate() (bench/toolbox/runner.ts).
  // --long: decode at long contexts and per KV-cache format (bench/long/runner.ts).
  // --agreement: llmo vs llama.cpp per weight type, greedy and whole-file perplexity (bench/agreement/runner.ts).
  const modes = {
    '--embed': '/bench/embed/runner.ts', '--toolbox': '/bench/toolbox/runner.ts', '--long': '/bench/long/runner.ts',
    '--agreement': '/bench/agreement/runner.ts',
  };
  const mode = Object.keys(modes).find((m) => process.argv.includes(m));
  const { main } = await server.ssrLoadModule(mode ? modes[mode] : '/bench/runner.ts');
  await main(server.resolvedUrls.local[0], process.argv.slice(2).filter((a) => !(a in modes)), root);
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await server.close();
}
process.exit(code);
