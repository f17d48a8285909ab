/**
 * A byte-level recognizer for JSON that matches a compiled schema (schema.ts). A state is a small set of threads
 * (alternatives still alive, e.g. the branches of anyOf); a thread is an immutable linked stack of frames, so
 * advancing by one byte copies nothing but the frames it changes — which is what makes walking the vocabulary trie
 * with it cheap (mask.ts).
 *
 * Frames either consume a byte (`take`) or rewrite themselves without consuming (`eps`: push a child, or pop when
 * finished). Frames below the top are already in the phase they resume in once the child above them pops.
 * `minRem` is the fewest bytes that finish a frame from its phase, so a thread's sum is the fewest bytes that
 * complete the document: generation masks tokens that would leave too little room (it can always finish).
 *
 * Deliberate limits that keep output finite and decoding fast: whitespace runs ≤ MAX_WS bytes, numbers ≤ 15 digits
 * per part with no exponent, nesting ≤ MAX_DEPTH, declared object keys in schema order (optional ones may be skipped).
 */
import type { SchemaNode } from './schema.ts';

const MAX_WS = 4;
const MAX_DIGITS = 15;
const MAX_DEPTH = 48;
/** Longest token a grammar may use (token-trie.ts leaves longer ones out), bounding what one token can add. */
export const MAX_TOKEN_BYTES = 128;
const enc = new TextEncoder();

interface Frame {
  /** Identity of the frame's exact state (threads with equal keys are merged). */
  readonly key: string;
  /** Coarser identity for the mask cache: frames whose masks are provably equal may share it (default: key). */
  readonly ckey?: string;
  readonly minRem: number;
  take?(b: number): Frame[] | null;
  eps?(): Frame[][];
}

export interface Thread {
  readonly frame: Frame;
  readonly up: Thread | null;
  readonly depth: number;
}

/** Alive alternatives; an empty array is a dead state. `null` in a closure means the document is complete. */
export type GrammarState = readonly Thread[];

const push = (base: Thread | null, frames: Frame[]): Thread | null => {
  let t = base;
  for (const f of frames) t = { frame: f, up: t, depth: (t?.depth ?? 0) + 1 };
  return t;
};

export function initialState(root: SchemaNode): GrammarState {
  return valueAlts(root).map((alt) => push(null, alt)!);
}

/** Every thread reachable without consuming; `complete` when one of them is the empty stack. */
function closure(state: GrammarState): { threads: Thread[]; complete: boolean } {
  const threads: Thread[] = [];
  let complete = false;
  const visit = (t: Thread | null, guard: number) => {
    if (t === null) {
      complete = true;
      return;
    }
    if (t.depth > MAX_DEPTH || guard > 64) return;
    if (t.frame.take) threads.push(t);
    if (t.frame.eps) for (const alt of t.frame.eps()) visit(push(t.up, alt), guard + 1);
  };
  for (const t of state) visit(t, 0);
  return { threads, complete };
}

/** The state after byte `b` (empty: `b` is not allowed here). */
export function advance(state: GrammarState, b: number): GrammarState {
  const out: Thread[] = [];
  const { threads } = closure(state);
  // The common case — one thread, or one that takes the byte — needs no de-duplication.
  if (threads.length === 1) {
    const r = threads[0].frame.take!(b);
    if (r) out.push(push(threads[0].up, r) ?? DONE_THREAD);
    return out;
  }
  const seen = new Set<string>();
  for (const t of threads) {
    const r = t.frame.take!(b);
    if (!r) continue;
    const n = push(t.up, r);
    if (n === null) {
      // Finished exactly here: represent "complete, nothing more" as a frame that takes nothing.
      if (!seen.has('$')) {
        seen.add('$');
        out.push(DONE_THREAD);
      }
      continue;
    }
    const k = threadKey(n);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(n);
    }
  }
  return out;
}

/** Whether the bytes so far form a complete document. */
export function isComplete(state: GrammarState): boolean {
  return closure(state).complete;
}

/** Whether any further byte is possible. */
export function canContinue(state: GrammarState): boolean {
  return closure(state).threads.length > 0;
}

/** Fewest bytes that complete the document from here (Infinity for a dead state). */
export function minRemaining(state: GrammarState): number {
  let best = Infinity;
  for (const t of state) {
    let s = 0;
    for (let f: Thread | null = t; f; f = f.up) s += f.frame.minRem;
    if (s < best) best = s;
  }
  return best;
}

/**
 * When the state is inside a string's text (one thread, not mid-escape or mid-character), what the mask's fast
 * path needs: characters so far, the bounds, and the fewest bytes to finish from here.
 */
export function inStringBody(state: GrammarState): { count: number; min: number; max: number; minRem: number } | undefined {
  if (state.length !== 1) return undefined;
  const f = state[0].frame;
  if (!(f instanceof Str) || f.ph !== SPh.Body || f.need !== 0) return undefined;
  return { count: f.count, min: f.min, max: f.max, minRem: minRemaining(state) };
}

/** Cache key of a state: equal keys give equal token tables. */
export function stateKey(state: GrammarState): string {
  return state.map((t) => {
    let k = '';
    for (let f: Thread | null = t; f; f = f.up) k += (f.frame.ckey ?? f.frame.key) + '/';
    return k;
  }).sort().join('|');
}

function threadKey(t: Thread): string {
  let k = '';
  for (let f: Thread | null = t; f; f = f.up) k += f.frame.key + '/';
  return k;
}

const DONE: Frame = { key: '$', minRem: 0, eps: () => [[]] };
const DONE_THREAD: Thread = { frame: DONE, up: null, depth: 1 };

// ── frames ──────────────────────────────────────────────────────────────────────────────────────────────

const isWs = (b: number) => b === 0x20 || b === 0x0a || b === 0x09;
const isDigit = (b: number) => b >= 0x30 && b <= 0x39;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);

/** Optional insignificant whitespace. */
class Ws implements Frame {
  static readonly AT = [0, 1, 2, 3, 4].map((n) => new Ws(n));
  readonly key: string;
  readonly minRem = 0;
  private constructor(private readonly n: number) {
    this.key = `w${n}`;
  }
  take(b: number): Frame[] | null {
    return isWs(b) && this.n < MAX_WS ? [Ws.AT[this.n + 1]] : null;
  }
  eps(): Frame[][] {
    return [[]];
  }
}
const WS = Ws.AT[0];

class Literal implements Frame {
  readonly key: string;
  readonly minRem: number;
  constructor(private readonly bytes: Uint8Array, private readonly id: string, private readonly pos = 0) {
    this.key = `l${id}@${pos}`;
    this.minRem = bytes.length - pos;
  }
  take(b: number): Frame[] | null {
    if (b !== this.bytes[this.pos]) return null;
    return this.pos + 1 === this.bytes.length ? [] : [new Literal(this.bytes, this.id, this.pos + 1)];
  }
}

const literalCache = new Map<string, Literal>();
let literalIds = 0;
function literalFrame(text: string): Literal {
  let l = literalCache.get(text);
  if (!l) {
    l = new Literal(enc.encode(text), String(literalIds++));
    if (literalCache.size < 10000) literalCache.set(text, l);
  }
  return l;
}

const enum SPh { Open, Body, Esc, Hex1, Hex2, Hex3, Hex4 }

class Str implements Frame {
  readonly key: string;
  readonly ckey?: string;
  readonly minRem: number;
  constructor(
    readonly min: number,
    readonly max: number,
    readonly ph: SPh,
    readonly count: number,
    /** UTF-8 continuation bytes still expected. */
    readonly need: number,
  ) {
    const bounded = min > 0 || max < Infinity;
    this.key = `s${min},${max}:${ph},${need}${bounded ? ',' + count : ''}`;
    // Past minLength and further than any token from maxLength, the count cannot change the token table.
    if (bounded && count >= min && max - count > MAX_TOKEN_BYTES) this.ckey = `s${min},${max}:${ph},${need},far`;
    const rest = Math.max(0, min - count);
    this.minRem = ph === SPh.Open ? 2 + min : ph === SPh.Body ? need + rest + 1 : ph === SPh.Esc ? 1 + Math.max(0, rest - 1) + 1 : (SPh.Hex4 - ph + 1) + Math.max(0, rest - 1) + 1;
  }
  private body(count: number, need = 0): Str {
    return new Str(this.min, this.max, SPh.Body, count, need);
  }
  take(b: number): Frame[] | null {
    const c = this.count;
    switch (this.ph) {
      case SPh.Open:
        return b === 0x22 ? [this.body(0)] : null;
      case SPh.Body:
        if (this.need > 0) return b >= 0x80 && b <= 0xbf ? [this.body(c, this.need - 1)] : null;
        if (b === 0x22) return c >= this.min ? [] : null;
        if (c >= this.max) return null;
        if (b === 0x5c) return [new Str(this.min, this.max, SPh.Esc, c, 0)];
        if (b < 0x20 || b === 0x7f) return null;
        if (b < 0x80) return [this.body(c + 1)];
        if (b >= 0xc2 && b <= 0xdf) return [this.body(c + 1, 1)];
        if (b >= 0xe0 && b <= 0xef) return [this.body(c + 1, 2)];
        if (b >= 0xf0 && b <= 0xf4) return [this.body(c + 1, 3)];
        return null;
      case SPh.Esc:
        if ('"\\/bfnrt'.includes(String.fromCharCode(b))) return [this.body(c + 1)];
        return b === 0x75 ? [new Str(this.min, this.max, SPh.Hex1, c, 0)] : null;
      default:
        if (!isHex(b)) return null;
        return this.ph === SPh.Hex4 ? [this.body(c + 1)] : [new Str(this.min, this.max, this.ph + 1, c, 0)];
    }
  }
}

const enum NPh { Start, Minus, Zero, Int, Dot, Frac }

class Num implements Frame {
  readonly key: string;
  readonly minRem: number;
  constructor(private readonly integer: boolean, private readonly ph: NPh, private readonly digits: number) {
    this.key = `n${integer ? 'i' : 'f'}${ph},${digits}`;
    this.minRem = ph === NPh.Start || ph === NPh.Minus || ph === NPh.Dot ? 1 : 0;
  }
  take(b: number): Frame[] | null {
    const { integer: i, ph, digits: d } = this;
    switch (ph) {
      case NPh.Start:
      case NPh.Minus:
        if (b === 0x2d && ph === NPh.Start) return [new Num(i, NPh.Minus, 0)];
        if (b === 0x30) return [new Num(i, NPh.Zero, 1)];
        return isDigit(b) ? [new Num(i, NPh.Int, 1)] : null;
      case NPh.Zero:
      case NPh.Int:
        if (b === 0x2e && !i) return [new Num(i, NPh.Dot, 0)];
        return ph === NPh.Int && isDigit(b) && d < MAX_DIGITS ? [new Num(i, NPh.Int, d + 1)] : null;
      case NPh.Dot:
      case NPh.Frac:
        return isDigit(b) && d < MAX_DIGITS ? [new Num(i, NPh.Frac, d + 1)] : null;
    }
  }
  eps(): Frame[][] {
    return this.ph === NPh.Zero || this.ph === NPh.Int || this.ph === NPh.Frac ? [[]] : [];
  }
}

/** Bytes of `"key":` for each declared property, and the fewest bytes to close the object after property j. */
interface ObjPlan {
  keys: Literal[];
  /** tail[j + 1]: fewest bytes after finishing property j (j = -1: right after `{`), including the `}`. */
  tail: number[];
}
const plans = new Map<SchemaNode, ObjPlan>();

function plan(node: Extract<SchemaNode, { kind: 'object' }>): ObjPlan {
  let p = plans.get(node);
  if (p) return p;
  const n = node.props.length;
  const keys = node.props.map((pr) => literalFrame(JSON.stringify(pr.key)));
  const tail = new Array<number>(n + 1);
  tail[n] = 1;
  for (let j = n - 1; j >= 0; j--) {
    // After property j-1: the required properties from j on each cost `,"key":value`; the first one has no comma
    // when nothing came before (j-1 = -1), which the -1 below accounts for.
    const pr = node.props[j];
    tail[j] = tail[j + 1] + (pr.required ? 1 + keys[j].minRem + 1 + minLen(pr.node) : 0);
  }
  if (node.props.some((pr) => pr.required)) tail[0] -= 1;
  p = { keys, tail };
  plans.set(node, p);
  return p;
}

const enum OPh { Open, First, Colon, Value, After, Next, Close, FreeKey, FreeColon, FreeValue, FreeAfter }

class Obj implements Frame {
  readonly key: string;
  readonly minRem: number;
  constructor(private readonly node: Extract<SchemaNode, { kind: 'object' }>, private readonly ph: OPh, private readonly j = -1) {
    this.key = `o${node.id}:${ph},${j}`;
    this.minRem = this.computeMinRem();
  }
  private get free(): boolean {
    return this.node.props.length === 0;
  }
  private computeMinRem(): number {
    if (this.free) {
      const v = this.node.values ?? { kind: 'any', id: 0 };
      switch (this.ph) {
        case OPh.Open: return 2;
        case OPh.First: return 1;
        case OPh.FreeKey: return 2 + 1 + minLen(v) + 1;
        case OPh.FreeColon: return 1 + minLen(v) + 1;
        case OPh.FreeValue: return minLen(v) + 1;
        default: return 1;
      }
    }
    const p = plan(this.node);
    const j = this.j;
    const pr = this.node.props[j];
    switch (this.ph) {
      case OPh.Open: return 1 + p.tail[0];
      case OPh.First: return p.tail[0];
      case OPh.Colon: return 1 + minLen(pr.node) + p.tail[j + 1];
      case OPh.Value: return minLen(pr.node) + p.tail[j + 1];
      case OPh.After: return p.tail[j + 1];
      case OPh.Next: {
        let best = Infinity;
        for (const k of this.candidates(j + 1)) best = Math.min(best, p.keys[k].minRem + 1 + minLen(this.node.props[k].node) + p.tail[k + 1]);
        return best;
      }
      default: return 1;
    }
  }
  /** Properties that may come next after j-1: the optional ones up to and including the first required one. */
  private candidates(from: number): number[] {
    const out: number[] = [];
    for (let k = from; k < this.node.props.length; k++) {
      out.push(k);
      if (this.node.props[k].required) break;
    }
    return out;
  }
  private requiredFrom(from: number): boolean {
    return this.node.props.slice(from).some((pr) => pr.required);
  }
  take(b: number): Frame[] | null {
    switch (this.ph) {
      case OPh.Open:
        return b === 0x7b ? [new Obj(this.node, OPh.First), WS] : null;
      case OPh.Colon:
      case OPh.FreeColon:
        return b === 0x3a ? [new Obj(this.node, this.ph === OPh.Colon ? OPh.Value : OPh.FreeValue, this.j), WS] : null;
      case OPh.After:
        if (b === 0x2c && this.j + 1 < this.node.props.length) return [new Obj(this.node, OPh.Next, this.j), WS];
        return b === 0x7d && !this.requiredFrom(this.j + 1) ? [] : null;
      case OPh.FreeAfter:
        if (b === 0x2c) return [new Obj(this.node, OPh.FreeKey), WS];
        return b === 0x7d ? [] : null;
      case OPh.Close:
        return b === 0x7d ? [] : null;
      default:
        return null;
    }
  }
  eps(): Frame[][] {
    const node = this.node;
    switch (this.ph) {
      case OPh.First:
        if (this.free) return [[new Obj(node, OPh.Close)], [new Obj(node, OPh.FreeColon), WS, new Str(0, Infinity, SPh.Open, 0, 0)]];
        return [
          ...this.candidates(0).map((k) => [new Obj(node, OPh.Colon, k), WS, plan(node).keys[k]]),
          ...(this.requiredFrom(0) ? [] : [[new Obj(node, OPh.Close)]]),
        ];
      case OPh.Next:
        return this.candidates(this.j + 1).map((k) => [new Obj(node, OPh.Colon, k), WS, plan(node).keys[k]]);
      case OPh.FreeKey:
        return [[new Obj(node, OPh.FreeColon), WS, new Str(0, Infinity, SPh.Open, 0, 0)]];
      case OPh.Value:
        return valueAlts(node.props[this.j].node).map((alt) => [new Obj(node, OPh.After, this.j), WS, ...alt]);
      case OPh.FreeValue:
        return valueAlts(node.values ?? { kind: 'any', id: 0 }).map((alt) => [new Obj(node, OPh.FreeAfter), WS, ...alt]);
      default:
        return [];
    }
  }
}

const enum APh { Open, First, After, Close }

class Arr implements Frame {
  readonly key: string;
  readonly ckey?: string;
  readonly minRem: number;
  constructor(private readonly node: Extract<SchemaNode, { kind: 'array' }>, private readonly ph: APh, private readonly count = 0) {
    this.key = `a${node.id}:${ph},${count}`;
    // Past minItems and further than one token can reach from maxItems, the count cannot change the token table
    // (so the strings of every array element share cached masks).
    if (count > 0 && count >= node.min && node.max - count > MAX_TOKEN_BYTES) this.ckey = `a${node.id}:${ph},far`;
    const item = minLen(node.items);
    const rest = Math.max(0, node.min - count);
    this.minRem = ph === APh.Open ? minLen(node)
      : ph === APh.First ? (count === 0 ? minLen(node) - 1 : item + Math.max(0, rest - 1) * (item + 1) + 1)
      : ph === APh.After ? rest * (item + 1) + 1 : 1;
  }
  take(b: number): Frame[] | null {
    switch (this.ph) {
      case APh.Open:
        return b === 0x5b ? [new Arr(this.node, APh.First)] : null;
      case APh.After:
        if (b === 0x5d) return this.count >= this.node.min ? [] : null;
        if (b === 0x2c && this.count < this.node.max) return [new Arr(this.node, APh.First, this.count)];
        return null;
      case APh.Close:
        return b === 0x5d ? [] : null;
      default:
        return null;
    }
  }
  eps(): Frame[][] {
    if (this.ph !== APh.First) return [];
    const alts: Frame[][] = [];
    // First (count 0): may close at once; after a comma (count > 0) an item must follow.
    if (this.count === 0 && this.node.min === 0) alts.push([new Arr(this.node, APh.Close), WS]);
    if (this.count < this.node.max) {
      for (const alt of valueAlts(this.node.items)) alts.push([new Arr(this.node, APh.After, this.count + 1), WS, ...alt, WS]);
    }
    return alts;
  }
}

/** The frames that start a value of `node`, one list per alternative (bottom first). */
function valueAlts(node: SchemaNode): Frame[][] {
  switch (node.kind) {
    case 'literal': return [[literalFrame(node.text)]];
    case 'string': return [[new Str(node.min, node.max, SPh.Open, 0, 0)]];
    case 'number': return [[new Num(node.integer, NPh.Start, 0)]];
    case 'object': return [[new Obj(node, OPh.Open)]];
    case 'array': return [[new Arr(node, APh.Open)]];
    case 'anyOf': return node.options.flatMap(valueAlts);
    case 'any': return ANY_ALTS();
  }
}

let anyAlts: Frame[][] | undefined;
function ANY_ALTS(): Frame[][] {
  if (!anyAlts) {
    const any: SchemaNode = { kind: 'any', id: 0 };
    anyAlts = [
      [new Obj({ kind: 'object', id: -1, props: [], values: any }, OPh.Open)],
      [new Arr({ kind: 'array', id: -2, items: any, min: 0, max: Infinity }, APh.Open)],
      [new Str(0, Infinity, SPh.Open, 0, 0)],
      [new Num(false, NPh.Start, 0)],
      [literalFrame('true')], [literalFrame('false')], [literalFrame('null')],
    ];
  }
  return anyAlts;
}

/** Fewest bytes of any document matching `node`. */
export function minLen(node: SchemaNode): number {
  switch (node.kind) {
    case 'any': return 1;
    case 'literal': return enc.encode(node.text).length;
    case 'string': return 2 + node.min;
    case 'number': return 1;
    case 'anyOf': return Math.min(...node.options.map(minLen));
    case 'array': return 2 + node.min * minLen(node.items) + Math.max(0, node.min - 1);
    case 'object': return node.props.length === 0 ? 2 : 1 + plan(node).tail[0];
  }
}
