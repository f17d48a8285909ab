#!/usr/bin/env node
// Fails the build when a bundle holds a non-ASCII byte. A page without <meta charset="utf-8">, loading the script
// from a server that sends no charset, decodes it as windows-1252: every raw UTF-8 literal (SentencePiece's U+2581,
// pre-tokenizer regex ranges) would silently change meaning. The bundler escapes literals (charset: 'ascii' in
// vite.lib.config.ts); this catches what it cannot (String.raw templates, preserved comments).
// (llmo/node's files are not checked: dist/node.js, its chunk dist/node-<hash>.js and dist/quantize-worker.js;
// Node always reads modules as UTF-8.)
import { existsSync, readFileSync, readdirSync } from 'node:fs';

// Every browser bundle: the ES entries, their shared engine chunk (dist/llmo-<hash>.js) and the IIFE dist/llmo.js.
const files = existsSync('dist') ? readdirSync('dist').filter((f) => f.endsWith('.js') && !/^(node(-[\w-]+)?|quantize-worker)\.js$/.test(f)).map((f) => `dist/${f}`) : [];
let bad = 0;
for (const file of files) {
  const bytes = readFileSync(file);
  const i = bytes.findIndex((b) => b > 0x7f);
  if (i < 0) continue;
  bad++;
  const line = bytes.subarray(0, i).toString('latin1').split('\n').length;
  const around = bytes.subarray(Math.max(0, i - 60), i + 20).toString('utf8');
  console.error(`${file}: non-ASCII byte 0x${bytes[i].toString(16)} at offset ${i} (line ${line}): …${around}…`);
}
if (!files.includes('dist/index.js') || !files.includes('dist/llmo.js')) {
  console.error('check-ascii: dist/index.js or dist/llmo.js is missing (run the vite builds first)');
  process.exit(1);
}
if (bad) {
  console.error('Escape the characters in the source (\\uXXXX): the bundles must be ASCII-only.');
  process.exit(1);
}
console.log(`check-ascii: ${files.join(', ')} are ASCII-only`);
