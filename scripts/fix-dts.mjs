#!/usr/bin/env node
// After `tsc -p tsconfig.build.json`: the declarations mention WebGPU types (GPUDevice, GPUBuffer) that TypeScript's
// DOM lib does not have yet, so dist/index.d.ts points consumers at @webgpu/types (a dependency) explicitly.
import { readFileSync, writeFileSync } from 'node:fs';

const file = 'dist/index.d.ts';
const ref = '/// <reference types="@webgpu/types" />\n';
const text = readFileSync(file, 'utf8');
if (!text.startsWith(ref)) writeFileSync(file, ref + text);
