/**
 * Text → chunks of at most `maxTokens` tokens of the embedder, cut on paragraph and sentence boundaries.
 * Sentences are packed greedily; a chunk ends early at a paragraph boundary when the next paragraph would not fit
 * whole and the chunk is already half full, so paragraphs stay together where they can. A chunk cut inside a
 * paragraph starts the next one with the last sentences of the previous (up to `overlapTokens`), so a fact spanning
 * the cut is whole in one of them; cuts at paragraph boundaries need no overlap. A sentence longer than a chunk is
 * cut between words.
 */
export interface ChunkOptions {
  /** Most tokens in a chunk (default 256: well inside a 512-token encoder). */
  maxTokens?: number;
  /** Tokens repeated from the end of a chunk cut inside a paragraph (default 32). */
  overlapTokens?: number;
}

export interface TextChunk {
  text: string;
  start: number;
  end: number;
  tokens: number;
}

/** Tokens per text, in order. */
export type TokenCounter = (texts: string[]) => Promise<number[]>;

/** Without the embedder's tokenizer: about 4 characters a token (English BPE/WordPiece averages 4–5). */
export const approxTokens: TokenCounter = async (texts) => texts.map((t) => Math.max(1, Math.ceil(t.length / 4)));

interface Unit {
  start: number;
  end: number;
  tokens: number;
  /** First unit of a paragraph: the tokens of the whole paragraph. */
  paragraph?: number;
}

const ABBREV = /(?:\b(?:Mr|Mrs|Ms|Dr|St|Sr|Jr|Prof|Gen|Rep|Sen|Gov|Capt|Lt|Col|vs|etc|e\.g|i\.e|No|Vol|Fig)|\b[A-Z])\.$/;

/** Sentence spans [start, end) inside text[from, to): end after the terminal punctuation and closing quotes. */
export function sentences(text: string, from = 0, to = text.length): [number, number][] {
  const out: [number, number][] = [];
  const re = /[.!?…]+["'”’)\]]*(?=\s|$)/g;
  re.lastIndex = from;
  let s = skipSpace(text, from, to);
  for (let m = re.exec(text); m && m.index < to; m = re.exec(text)) {
    const end = m.index + m[0].length;
    if (ABBREV.test(text.slice(Math.max(s, m.index - 6), m.index + 1)) && m[0] === '.') continue;
    if (end > s) out.push([s, end]);
    s = skipSpace(text, end, to);
  }
  if (s < to && text.slice(s, to).trim()) out.push([s, trimEnd(text, s, to)]);
  return out;
}

/** Paragraph spans: text separated by blank lines. */
export function paragraphs(text: string): [number, number][] {
  const out: [number, number][] = [];
  const re = /\n[ \t]*\n\s*/g;
  let s = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (text.slice(s, m.index).trim()) out.push([skipSpace(text, s, m.index), trimEnd(text, s, m.index)]);
    s = m.index + m[0].length;
  }
  if (text.slice(s).trim()) out.push([skipSpace(text, s, text.length), trimEnd(text, s, text.length)]);
  return out;
}

const skipSpace = (t: string, i: number, to: number) => {
  while (i < to && /\s/.test(t[i])) i++;
  return i;
};
const trimEnd = (t: string, from: number, i: number) => {
  while (i > from && /\s/.test(t[i - 1])) i--;
  return i;
};

export async function chunkText(text: string, count: TokenCounter = approxTokens, options: ChunkOptions = {}): Promise<TextChunk[]> {
  const max = options.maxTokens ?? 256;
  const overlap = Math.min(options.overlapTokens ?? 32, Math.floor(max / 2));
  if (!(max >= 8)) throw new RangeError(`maxTokens is ${max}; a chunk needs at least 8 tokens.`);
  const units = await splitUnits(text, count, max);
  const chunks: TextChunk[] = [];
  let cur: Unit[] = [];
  let tokens = 0;
  const emit = () => {
    if (cur.length) chunks.push({ text: text.slice(cur[0].start, cur[cur.length - 1].end), start: cur[0].start, end: cur[cur.length - 1].end, tokens });
  };
  for (const u of units) {
    const full = tokens + u.tokens > max;
    const paraBreak = u.paragraph !== undefined && tokens + u.paragraph > max && tokens >= max / 2;
    if (cur.length && (full || paraBreak)) {
      emit();
      // Overlap only when cutting inside a paragraph: the tail sentences travel on into the next chunk.
      let tail: Unit[] = [];
      if (u.paragraph === undefined) {
        let t = 0;
        for (let j = cur.length - 1; j > 0 && t + cur[j].tokens <= overlap && t + cur[j].tokens + u.tokens <= max; j--) {
          t += cur[j].tokens;
          tail = cur.slice(j);
        }
      }
      cur = tail;
      tokens = tail.reduce((a, x) => a + x.tokens, 0);
    }
    cur.push(u);
    tokens += u.tokens;
  }
  emit();
  return chunks;
}

/** Sentences (with their paragraph's size on the first), long sentences cut between words to fit `max`. */
async function splitUnits(text: string, count: TokenCounter, max: number): Promise<Unit[]> {
  const spans: { s: [number, number]; first: boolean; para: number }[] = [];
  paragraphs(text).forEach(([a, b], p) => sentences(text, a, b).forEach((s, j) => spans.push({ s, first: j === 0, para: p })));
  const counts = await count(spans.map(({ s }) => text.slice(s[0], s[1])));
  const units: Unit[] = [];
  for (let i = 0; i < spans.length; i++) {
    const [a, b] = spans[i].s;
    if (counts[i] <= max) units.push({ start: a, end: b, tokens: counts[i] });
    else units.push(...(await cutWords(text, a, b, counts[i], count, max)));
  }
  // Mark paragraph starts with the paragraph's total tokens.
  let u = 0;
  for (let i = 0; i < spans.length; i++) {
    if (!spans[i].first) continue;
    while (u < units.length && units[u].start < spans[i].s[0]) u++;
    let total = 0;
    for (let j = i; j < spans.length && spans[j].para === spans[i].para; j++) total += counts[j];
    if (u < units.length) units[u].paragraph = total;
  }
  return units;
}

/**
 * A sentence of `n` tokens (> max) cut between words into pieces of about max × 0.9 tokens each; a single word that
 * long (a URL, a base64 blob) is cut between characters.
 */
async function cutWords(text: string, a: number, b: number, n: number, count: TokenCounter, max: number): Promise<Unit[]> {
  const words: [number, number][] = [];
  for (const m of text.slice(a, b).matchAll(/\S+/g)) words.push([a + m.index, a + m.index + m[0].length]);
  if (words.length <= 1) {
    const step = Math.max(1, Math.floor(((b - a) * max * 0.9) / n));
    const out: Unit[] = [];
    for (let i = a; i < b; i += step) out.push({ start: i, end: Math.min(b, i + step), tokens: Math.min(max, Math.ceil((Math.min(b, i + step) - i) * n / (b - a))) });
    return out;
  }
  const per = Math.max(1, Math.floor((words.length * max * 0.9) / n));
  const pieces: [number, number][] = [];
  for (let i = 0; i < words.length; i += per) pieces.push([words[i][0], words[Math.min(i + per, words.length) - 1][1]]);
  const counts = await count(pieces.map(([x, y]) => text.slice(x, y)));
  const out: Unit[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (counts[i] <= max) out.push({ start: pieces[i][0], end: pieces[i][1], tokens: counts[i] });
    else out.push(...(await cutWords(text, pieces[i][0], pieces[i][1], counts[i], count, max)));
  }
  return out;
}
