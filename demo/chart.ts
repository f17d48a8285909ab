/** A tiny SVG line chart of prefill and decode tokens/s, one point per reply in this session. */

const SVG = 'http://www.w3.org/2000/svg';

export interface SpeedPoint {
  /** NaN when unknown. */
  prefill: number;
  decode: number;
}

export function drawSpeedChart(svg: SVGSVGElement, points: SpeedPoint[]): void {
  const w = 320;
  const h = 120;
  const pad = { l: 36, r: 8, t: 8, b: 18 };
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.replaceChildren();
  // NaN: no figure for that reply (a stopped reply's prefill); left out of the line rather than drawn as 0.
  const max = Math.max(1, ...points.flatMap((p) => [p.prefill, p.decode]).filter(Number.isFinite));
  const x = (i: number) => pad.l + (points.length < 2 ? (w - pad.l - pad.r) / 2 : (i * (w - pad.l - pad.r)) / (points.length - 1));
  const y = (v: number) => pad.t + (1 - v / max) * (h - pad.t - pad.b);

  const el = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    svg.append(e);
    return e;
  };
  el('line', { x1: pad.l, y1: y(0), x2: w - pad.r, y2: y(0), class: 'axis' });
  el('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: y(0), class: 'axis' });
  el('text', { x: pad.l - 4, y: pad.t + 8, class: 'tick', 'text-anchor': 'end' }).textContent = max.toFixed(0);
  el('text', { x: pad.l - 4, y: y(0), class: 'tick', 'text-anchor': 'end' }).textContent = '0';
  el('text', { x: w - pad.r, y: h - 4, class: 'tick', 'text-anchor': 'end' }).textContent = `${points.length} ${points.length === 1 ? 'reply' : 'replies'}`;

  for (const [key, cls] of [['prefill', 'prefill'], ['decode', 'decode']] as const) {
    if (!points.length) continue;
    const known = points.map((p, i) => [i, p[key]] as const).filter(([, v]) => Number.isFinite(v));
    el('polyline', { points: known.map(([i, v]) => `${x(i)},${y(v)}`).join(' '), class: `line ${cls}` });
    known.forEach(([i, v]) => el('circle', { cx: x(i), cy: y(v), r: 2.5, class: `dot ${cls}` }));
  }
}
