/**
 * The tiny WGSL preprocessor behind "one file per operation, formats as variants": `#if NAME`, `#elif NAME`,
 * `#else`, `#endif` (NAME may be `!NAME`), evaluated against a set of defines. Numbers are not substituted here:
 * kernels use WGSL `override` constants for those.
 */
export function preprocessWgsl(source: string, defines: ReadonlySet<string>): string {
  const out: string[] = [];
  // Each frame: is the enclosing region live, has a branch of this #if been taken, is the current branch live.
  const stack: { parentLive: boolean; taken: boolean; live: boolean }[] = [];
  const live = () => (stack.length === 0 ? true : stack[stack.length - 1].live);
  const test = (expr: string) => {
    const e = expr.trim();
    return e.startsWith('!') ? !defines.has(e.slice(1).trim()) : defines.has(e);
  };
  const lines = source.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const m = /^\s*#(if|elif|else|endif)\b(.*)$/.exec(line);
    if (!m) {
      if (live()) out.push(line);
      continue;
    }
    const [, kw, rest] = m;
    if (kw === 'if') {
      const parentLive = live();
      const v = parentLive && test(rest);
      stack.push({ parentLive, taken: v, live: v });
    } else {
      const top = stack[stack.length - 1];
      if (!top) throw new Error(`WGSL preprocessor: #${kw} without #if at line ${n + 1}`);
      if (kw === 'elif') {
        const v = top.parentLive && !top.taken && test(rest);
        top.live = v;
        top.taken ||= v;
      } else if (kw === 'else') {
        top.live = top.parentLive && !top.taken;
        top.taken = true;
      } else {
        stack.pop();
      }
    }
  }
  if (stack.length) throw new Error('WGSL preprocessor: unterminated #if');
  return out.join('\n');
}

/** Binding numbers a (preprocessed) WGSL module declares in group 0. */
export function declaredBindings(code: string): Set<number> {
  const set = new Set<number>();
  for (const m of code.matchAll(/@group\(0\)\s*@binding\((\d+)\)/g)) set.add(Number(m[1]));
  return set;
}
