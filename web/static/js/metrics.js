// Control-plane rates from the Prometheus endpoint (/metrics, same origin,
// no token): successive scrapes of counters give per-second rates, drawn
// as small inline SVG sparklines.

import {h, s, fmtRate} from './dom.js';

export const SERIES = [
  {name: 'l2lisp_map_requests_total', label: 'Map-Requests'},
  {name: 'l2lisp_map_registers_total', label: 'Map-Registers'},
  {name: 'l2lisp_learned_eids_total', label: 'EIDs learned'},
];

const POINTS = 60;
const INTERVAL = 5000;

// parseProm sums the samples of each metric name over all label sets.
export function parseProm(text) {
  const sums = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    let name;
    let rest;
    if (brace >= 0 && (space < 0 || brace < space)) {
      name = line.slice(0, brace);
      rest = line.slice(line.lastIndexOf('}') + 1).trim();
    } else {
      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    const v = Number(rest.split(/\s+/)[0]);
    if (!name || !Number.isFinite(v)) continue;
    sums.set(name, (sums.get(name) || 0) + v);
  }
  return sums;
}

class Poller {
  constructor() {
    this.prev = null;
    this.rates = Object.fromEntries(SERIES.map((x) => [x.name, []]));
    this.state = 'waiting'; // waiting, ok or nodata
    this.listeners = new Set();
    this.timer = null;
  }

  on(fn) {
    this.listeners.add(fn);
    if (!this.timer) this.start();
    return () => this.listeners.delete(fn);
  }

  start() {
    this.poll();
    this.timer = setInterval(() => this.poll(), INTERVAL);
  }

  async poll() {
    let sums;
    try {
      const res = await fetch('/metrics', {cache: 'no-store', headers: {Accept: 'text/plain'}});
      if (!res.ok) throw new Error(String(res.status));
      sums = parseProm(await res.text());
    } catch {
      this.state = 'nodata';
      this.prev = null;
      return this.emit();
    }
    if (!SERIES.some((x) => sums.has(x.name))) {
      this.state = 'nodata';
      return this.emit();
    }
    this.add(performance.now(), sums);
    this.emit();
  }

  // add records one scrape; a counter that went down was reset, so its
  // new value is all that happened since.
  add(now, sums) {
    if (this.prev) {
      const dt = (now - this.prev.t) / 1000;
      for (const x of SERIES) {
        const cur = sums.get(x.name) || 0;
        const old = this.prev.sums.get(x.name) || 0;
        const d = cur >= old ? cur - old : cur;
        const list = this.rates[x.name];
        list.push(dt > 0 ? d / dt : 0);
        if (list.length > POINTS) list.shift();
      }
      this.state = 'ok';
    }
    this.prev = {t: now, sums};
  }

  emit() {
    for (const fn of this.listeners) fn(this);
  }
}

export const poller = new Poller();

// sparkline draws a series of rates; the newest point is on the right.
export function sparkline(values, label) {
  const w = 180;
  const ht = 40;
  const max = Math.max(...values, 1e-9);
  const step = w / Math.max(POINTS - 1, 1);
  const x0 = w - (values.length - 1) * step;
  const pts = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(ht - 2 - (v / max) * (ht - 6)).toFixed(1)}`);
  return s('svg', {class: 'spark', viewBox: `0 0 ${w} ${ht}`, width: w, height: ht, role: 'img',
    'aria-label': `${label}: last ${values.length} rates, peak ${fmtRate(max)}`},
  s('line', {x1: 0, y1: ht - 2, x2: w, y2: ht - 2, class: 'spark-base'}),
  pts.length > 1 ? s('polyline', {points: pts.join(' '), class: 'spark-line'}) : null,
  pts.length ? s('circle', {cx: pts[pts.length - 1].split(',')[0], cy: pts[pts.length - 1].split(',')[1], r: 2.5,
    class: 'spark-dot'}) : null);
}

// rateCards renders one card per series from the poller's state.
export function rateCards(p) {
  return SERIES.map((x) => {
    const vals = p.rates[x.name];
    let body;
    if (p.state === 'nodata') body = h('p', {class: 'nodata'}, 'no data');
    else if (!vals.length) body = h('p', {class: 'muted'}, 'measuring…');
    else body = [h('p', {class: 'rate'}, fmtRate(vals[vals.length - 1])), sparkline(vals, x.label)];
    return h('div', {class: 'spark-card', dataset: {metric: x.name, state: p.state}},
      h('h3', null, x.label), body);
  });
}
