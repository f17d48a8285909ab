// The demo's Markdown renderer in a real DOM (the browser project runs `*.gpu.test.ts`; this file uses no GPU).
import { describe, it, expect } from 'vitest';
import { renderMarkdown, RENDERED_TAGS } from '../../demo/markdown.ts';

function render(md: string): HTMLDivElement {
  const div = document.createElement('div');
  div.append(renderMarkdown(md));
  return div;
}

const tagsOf = (el: Element) => [...el.querySelectorAll('*')].map((e) => e.tagName);

describe('renderMarkdown', () => {
  it('builds the block structure chat models write', () => {
    const d = render('# Title\n\nSome *soft* and **strong** text\nsecond line\n\n- one\n- two `x`\n\n1. first\n2. second\n\n> quoted\n\n```js\nlet a = 1 < 2;\n```');
    expect(d.querySelector('h1')?.textContent).toBe('Title');
    const p = d.querySelector('p')!;
    expect(p.querySelector('em')?.textContent).toBe('soft');
    expect(p.querySelector('strong')?.textContent).toBe('strong');
    expect(p.querySelectorAll('br')).toHaveLength(1);
    expect([...d.querySelectorAll('ul > li')].map((li) => li.textContent)).toEqual(['one', 'two x']);
    expect(d.querySelector('ul code')?.textContent).toBe('x');
    expect([...d.querySelectorAll('ol > li')].map((li) => li.textContent)).toEqual(['first', 'second']);
    expect(d.querySelector('blockquote p')?.textContent).toBe('quoted');
    const code = d.querySelector('pre > code') as HTMLElement;
    expect(code.textContent).toBe('let a = 1 < 2;');
    expect(code.dataset.lang).toBe('js');
  });

  it('keeps every piece of HTML as text and makes only its own elements', () => {
    const evil = [
      '<img src=x onerror="globalThis.__md_pwned=1">', '<script>globalThis.__md_pwned=2</script>',
      '<a href="javascript:alert(1)">a</a>', '**<svg onload="globalThis.__md_pwned=3">**',
      '[x](javascript:globalThis.__md_pwned=4)', '[y](data:text/html,<script>alert(1)</script>)',
      '`<iframe srcdoc="<script>parent.__md_pwned=5</script>">`', '# <style>body{display:none}</style>',
    ].join('\n\n');
    const d = render(evil);
    document.body.append(d);
    for (const t of tagsOf(d)) expect(RENDERED_TAGS).toContain(t);
    expect(d.querySelectorAll('img, script, svg, iframe, style, a')).toHaveLength(0);
    expect(d.textContent).toContain('<img src=x onerror="globalThis.__md_pwned=1">');
    expect(d.textContent).toContain('[x](javascript:globalThis.__md_pwned=4)');
    expect((globalThis as { __md_pwned?: number }).__md_pwned).toBeUndefined();
    d.remove();
  });

  it('links only absolute http(s) URLs, opened safely', () => {
    const d = render('[ok](https://example.com/a?b=1) [rel](/local) [mail](mailto:a@b.c)');
    const links = d.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(links[0].rel).toContain('noopener');
    expect(d.textContent).toContain('[rel](/local)');
  });

  it('renders an unfinished code fence while a reply is still streaming', () => {
    const d = render('Here:\n```\nfor (;;) {');
    expect(d.querySelector('pre code')?.textContent).toBe('for (;;) {');
  });

  it('leaves snake_case and intraword underscores alone', () => {
    const d = render('use snake_case_names and obj.__proto__x here');
    expect(d.querySelectorAll('em, strong')).toHaveLength(0);
    expect(d.textContent).toBe('use snake_case_names and obj.__proto__x here');
  });
});
