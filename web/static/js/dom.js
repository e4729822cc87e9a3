// Small DOM helpers: build elements without innerHTML, so text from the API
// can never become markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// h builds an HTML element: h('a', {href: '#'}, 'text', child...).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// s builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// throttle runs fn at most once per ms, and always once more after the
// last call, so a burst of events ends with a fresh view.
export function throttle(fn, ms) {
  let timer = null;
  let pending = false;
  let last = 0;
  const fire = () => {
    timer = null;
    pending = false;
    last = Date.now();
    fn();
  };
  const t = () => {
    if (timer) { pending = true; return; }
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(fire, wait);
  };
  t.cancel = () => { if (timer) clearTimeout(timer); timer = null; pending = false; };
  return t;
}

export function debounce(fn, ms) {
  let timer = null;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}

const numFmt = new Intl.NumberFormat('en');
export function fmtNum(n) {
  return typeof n === 'number' && Number.isFinite(n) ? numFmt.format(n) : '–';
}

export function fmtRate(r) {
  if (r === null || r === undefined || !Number.isFinite(r)) return '–';
  if (r >= 100) return numFmt.format(Math.round(r)) + '/s';
  return r.toFixed(r >= 10 ? 1 : 2) + '/s';
}

export function fmtTime(iso) {
  if (!iso || iso.startsWith('0001-')) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function fmtClock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
}

// ago says how long ago a time was, for connection "since" fields.
export function ago(iso) {
  if (!iso || iso.startsWith('0001-')) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.max(s, 0)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// table builds a table with a caption and headers; rows are <tr> elements.
// A header may be [label, class], e.g. ['Flows', 'num'] to align it right.
export function table(id, caption, headers, rows, empty) {
  const body = h('tbody', null, rows);
  if (!rows.length) {
    body.append(h('tr', {class: 'empty'}, h('td', {colspan: headers.length}, empty || 'Nothing yet.')));
  }
  return h('table', {id, class: 'grid'},
    caption ? h('caption', null, caption) : null,
    h('thead', null, h('tr', null, headers.map((x) => (Array.isArray(x)
      ? h('th', {scope: 'col', class: x[1]}, x[0]) : h('th', {scope: 'col'}, x))))),
    body);
}

export function badge(text, kind) {
  return h('span', {class: `badge ${kind || ''}`}, text);
}
