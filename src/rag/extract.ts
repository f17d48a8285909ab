/**
 * Markdown and HTML reduced to plain text with blank lines between blocks, so chunking sees the same paragraph
 * boundaries in every format. Regex-based on purpose: it runs the same in a worker, in Node and in the page (no
 * DOMParser), and it only has to keep the words and the block structure, not render anything.
 */
import type { DocFormat } from './types.ts';

export function guessFormat(name: string | undefined): DocFormat {
  const ext = /\.([a-z0-9]+)$/i.exec(name ?? '')?.[1]?.toLowerCase();
  if (ext === 'md' || ext === 'markdown') return 'markdown';
  if (ext === 'html' || ext === 'htm' || ext === 'xhtml') return 'html';
  return 'text';
}

export function extractText(text: string, format: DocFormat): string {
  const t = text.replace(/\r\n?/g, '\n');
  if (format === 'markdown') return markdownToText(t);
  if (format === 'html') return htmlToText(t);
  return t;
}

function markdownToText(md: string): string {
  const out: string[] = [];
  let fence = false;
  for (const line of md.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      fence = !fence;
      out.push(''); // a code block is a block of its own
      continue;
    }
    if (fence) {
      out.push(line);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push(''); // horizontal rule
      continue;
    }
    let l = line
      .replace(/^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/, '\n$1\n') // a heading stands alone
      .replace(/^\s*>\s?/, '')
      .replace(/^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?/, '')
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
      .replace(/`([^`]*)`/g, '$1')
      .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, '$2')
      .replace(/(\*|_)(?=\S)(.+?)(?<=\S)\1/g, '$2')
      .replace(/<[^>]+>/g, '');
    if (/^\s*\[[^\]]+\]:\s*\S+/.test(line)) l = ''; // link reference definition
    out.push(l);
  }
  return tidy(out.join('\n'));
}

const BLOCK = 'p|div|h[1-6]|li|ul|ol|tr|table|section|article|header|footer|aside|nav|blockquote|pre|figure|figcaption|dd|dt|dl|main|form|fieldset|details|summary|hr|title';
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', mdash: '—', ndash: '–', hellip: '…', rsquo: '’', lsquo: '‘', rdquo: '”', ldquo: '“', copy: '©' };

function htmlToText(html: string): string {
  const t = html
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi, (m) => (/^<head/i.test(m) ? headTitle(m) : ''))
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(new RegExp(`</?(?:${BLOCK})\\b[^>]*>`, 'gi'), '\n\n')
    .replace(/<[^>]*>/g, '')
    .replace(/[ \t]*\n[ \t]*/g, '\n')
    .replace(/[ \t\f\v]+/g, ' ');
  return tidy(decodeEntities(t));
}

/** A page's <title> is worth keeping as its first paragraph. */
function headTitle(head: string): string {
  const m = /<title\b[^>]*>([\s\S]*?)<\/title>/i.exec(head);
  return m ? `\n\n${m[1]}\n\n` : '';
}

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** At most one blank line between blocks, no trailing spaces, no leading/trailing blank lines. */
function tidy(s: string): string {
  return s.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}
