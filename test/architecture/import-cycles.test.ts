/**
 * ARCHITECTURE.md promises no import cycles in src/ (type-only imports included: a cycle of types still ties two
 * modules into one room). Reads every module's relative `import … from` / `export … from` / `import('…')`
 * specifiers and fails naming each cycle found.
 */
import { describe, expect, test } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

function sources(dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative specifiers of a module's static and dynamic imports and re-exports. */
export function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs = [
    ...code.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"](\.[^'"]+)['"]/gm),
    ...code.matchAll(/^\s*import\s*['"](\.[^'"]+)['"]/gm),
    ...code.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g),
  ];
  return specs.map((m) => m[1]);
}

/** Every elementary cycle found by a depth-first walk (each reported once, from where the walk entered it). */
export function findCycles(graph: Map<string, string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('module graph', () => {
  test('the cycle finder sees a planted cycle (and the import reader reads every import form)', () => {
    const text = `import { a } from './a.ts';\nimport type {\n  B,\n} from './b.ts';\nexport { c } from './c.ts';\nimport './d.ts';\nconst e = await import('./e.ts');\n// import { x } from './x.ts';\nimport z from 'vitest';`;
    expect(importsOf(text)).toEqual(['./a.ts', './b.ts', './c.ts', './d.ts', './e.ts']);
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  test('src/ has no import cycles, type-only imports included', () => {
    const files = sources(join(root, 'src'));
    const known = new Set(files);
    const graph = new Map<string, string[]>();
    for (const f of files) {
      const deps = importsOf(readFileSync(f, 'utf8')).map((s) => resolve(dirname(f), s.replace(/\?.*$/, '')));
      const missing = deps.filter((d) => !known.has(d) && !/\.(wgsl|json|js|mjs)$/.test(d));
      expect(missing.map((d) => relative(root, d)), `${relative(root, f)} imports files that are not there`).toEqual([]);
      graph.set(f, deps.filter((d) => known.has(d)));
    }
    expect(files.length).toBeGreaterThan(100);
    expect(findCycles(graph).map((c) => c.map((p) => relative(root, p)).join(' → '))).toEqual([]);
  });
});
