/**
 * A small Markdown renderer for chat messages that builds DOM nodes only: every piece of text goes in through
 * `textContent` / text nodes, never `innerHTML`, so model output cannot inject elements, attributes or scripts.
 * Links are kept only for http(s) URLs. Covers what chat models write: paragraphs, headings, lists, fenced code,
 * block quotes, inline code, bold, italic, links.
 */

/** Elements the renderer may create; anything else in a rendered message is a bug (the e2e test checks this). */
export const RENDERED_TAGS = ['P', 'H1', 'H2', 'H3', 'H4', 'UL', 'OL', 'LI', 'PRE', 'CODE', 'BLOCKQUOTE', 'STRONG', 'EM', 'A', 'BR'];

export function renderMarkdown(src: string, doc: Document = document): DocumentFragment {
  const out = doc.createDocumentFragment();
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++; // closing fence (or end of a message still streaming)
      const pre = doc.createElement('pre');
      const code = doc.createElement('code');
      if (fence[2]) code.dataset.lang = fence[2];
      code.textContent = body.join('\n');
      pre.append(code);
      out.append(pre);
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const heading = /^(#{1,4})\s+(.*)$/.exec(line);
    if (heading) {
      const h = doc.createElement(`h${heading[1].length}`);
      appendInline(h, heading[2], doc);
      out.append(h);
      i++;
      continue;
    }
    const listItem = /^\s*([-*+]|\d+[.)])\s+/;
    if (listItem.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = doc.createElement(ordered ? 'ol' : 'ul');
      while (i < lines.length && listItem.test(lines[i]) && /^\s*\d/.test(lines[i]) === ordered) {
        const li = doc.createElement('li');
        appendInline(li, lines[i].replace(listItem, ''), doc);
        list.append(li);
        i++;
      }
      out.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ''));
      const bq = doc.createElement('blockquote');
      bq.append(renderMarkdown(quote.join('\n'), doc));
      out.append(bq);
      continue;
    }
    // A paragraph: consecutive lines up to a blank line or the start of another block.
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !/^\s*(```|~~~|#{1,4}\s|>|[-*+]\s|\d+[.)]\s)/.test(lines[i])) {
      para.push(lines[i++]);
    }
    if (!para.length) para.push(lines[i++]);
    const p = doc.createElement('p');
    para.forEach((l, k) => {
      if (k) p.append(doc.createElement('br'));
      appendInline(p, l, doc);
    });
    out.append(p);
  }
  return out;
}

// Underscore emphasis only at word edges, as in CommonMark: `snake_case` and `window.__x` stay as they are.
const INLINE = /(`+)([^`]+?)\1|\*\*(.+?)\*\*|(?<!\w)__(.+?)__(?!\w)|\*([^*\s][^*]*?)\*|(?<!\w)_([^_\s][^_]*?)_(?!\w)|\[([^\]]+)\]\(([^)\s]+)\)/;

/** Appends `text` with inline markup to `parent`, recursively for bold/italic/link bodies. */
function appendInline(parent: Node, text: string, doc: Document): void {
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) {
      parent.appendChild(doc.createTextNode(rest));
      return;
    }
    if (m.index) parent.appendChild(doc.createTextNode(rest.slice(0, m.index)));
    if (m[2] !== undefined) {
      const code = doc.createElement('code');
      code.textContent = m[2];
      parent.appendChild(code);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      const strong = doc.createElement('strong');
      appendInline(strong, m[3] ?? m[4], doc);
      parent.appendChild(strong);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      const em = doc.createElement('em');
      appendInline(em, m[5] ?? m[6], doc);
      parent.appendChild(em);
    } else {
      const href = safeHref(m[8]);
      if (href) {
        const a = doc.createElement('a');
        a.href = href;
        a.rel = 'noopener noreferrer nofollow';
        a.target = '_blank';
        appendInline(a, m[7], doc);
        parent.appendChild(a);
      } else {
        parent.appendChild(doc.createTextNode(m[0]));
      }
    }
    rest = rest.slice(m.index + m[0].length);
  }
}

/** Only absolute http(s) links survive; `javascript:`, `data:` and the rest stay plain text. */
function safeHref(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}
