#!/usr/bin/env node
// Runs every suite, then prints the one summary line CI reads: "N passed, N failed".
//   1. builds the npm bundles (dist/) and the demo site (dist-demo/) that the e2e tests drive;
//   2. vitest: node + headless-Chromium WebGPU suites (extra arguments go to vitest);
//   3. Playwright: the e2e suite (e2e/) against the built demo and the script-tag example.
// Exit status is non-zero if a build or any test failed.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';

const env = { ...process.env, VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' };
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;
let passed = 0;
let failed = 0;
mkdirSync('test-results', { recursive: true });

// 1. Builds: a broken build is one failure (the e2e suite then cannot run).
const built = ['build', 'build:demo'].every((script) => {
  const ok = run('npm', ['run', '--silent', script]) === 0;
  if (!ok) {
    console.error(`npm run ${script} failed`);
    failed++;
  }
  return ok;
});

// 2. Vitest.
const vitestOut = 'test-results/vitest.json';
rmSync(vitestOut, { force: true });
const vitestStatus = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestOut}`, ...process.argv.slice(2)]);
try {
  const j = JSON.parse(readFileSync(vitestOut, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests + (j.numRuntimeErrorTestSuites ?? 0);
  for (const f of j.testResults ?? []) if (f.status === 'failed' && !(f.assertionResults ?? []).length) failed++;
} catch {
  failed++;
}
if (vitestStatus !== 0 && failed === 0) failed++;

// 3. Playwright e2e (its JSON report path is set in playwright.config.ts).
if (built) {
  const e2eOut = 'test-results/e2e.json';
  rmSync(e2eOut, { force: true });
  const e2eStatus = run('npx', ['playwright', 'test']);
  try {
    const s = JSON.parse(readFileSync(e2eOut, 'utf8')).stats;
    passed += s.expected + s.flaky;
    failed += s.unexpected;
    if (s.skipped) console.log(`e2e: ${s.skipped} skipped (test.fixme: waiting for another branch, see the test titles)`);
    if (e2eStatus !== 0 && s.unexpected === 0) failed++;
  } catch {
    failed++;
  }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
