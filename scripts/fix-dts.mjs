#!/usr/bin/env node
// After `tsc -p tsconfig.build.json`: the declarations mention WebGPU types (GPUDevice, GPUBuffer) that TypeScript's
// DOM lib does not have yet, so dist/index.d.ts and dist/node.d.ts point consumers at @webgpu/types (a dependency) explicitly.
import { readFileSync, writeFileSync } from 'node:fs';

const ref = '/// <reference types="@webgpu/types" />\n';
for (const file of ['dist/index.d.ts', 'dist/node.d.ts', 'dist/ai-sdk.d.ts', 'dist/prompt-api.d.ts']) {
  const text = readFileSync(file, 'utf8');
  if (!text.startsWith(ref)) writeFileSync(file, ref + text);
}
