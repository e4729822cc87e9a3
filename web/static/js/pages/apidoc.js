// API: the OpenAPI document as a browsable list of endpoints.

import {h, replace} from '../dom.js';
import {fetchJSON} from '../api.js';
import {pageHeader, errorBox} from './common.js';

export const title = 'API';

const DOC = '/api/v1/openapi.json';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function refName(ref) { return ref ? ref.split('/').pop() : ''; }

function schemaText(sc) {
  if (!sc) return '';
  if (sc.$ref) return refName(sc.$ref);
  if (sc.type === 'array') return `${schemaText(sc.items)}[]`;
  return sc.type || 'object';
}

function params(list) {
  if (!list || !list.length) return null;
  return h('table', {class: 'grid small'}, h('caption', null, 'Parameters'),
    h('thead', null, h('tr', null, ['Name', 'In', 'Type', 'Required', 'Description'].map((x) => h('th', {scope: 'col'}, x)))),
    h('tbody', null, list.map((p) => h('tr', null, h('th', {scope: 'row', class: 'mono'}, p.name), h('td', null, p.in),
      h('td', null, schemaText(p.schema)), h('td', null, p.required ? 'yes' : 'no'), h('td', null, p.description || '')))));
}

function body(op, schemas) {
  const sc = op.requestBody && op.requestBody.content && op.requestBody.content['application/json'];
  if (!sc) return null;
  const name = refName(sc.schema.$ref);
  const def = schemas[name] || {};
  const req = new Set(def.required || []);
  const props = Object.entries(def.properties || {});
  return h('div', {class: 'req-body'}, h('p', null, 'Body: ', h('code', null, name || schemaText(sc.schema))),
    props.length ? h('ul', {class: 'props'}, props.map(([k, v]) => h('li', null, h('code', null, k), ` ${schemaText(v)}`,
      req.has(k) ? h('strong', null, ' required') : null, v.description ? ` — ${v.description}` : ''))) : null);
}

function responses(op) {
  const codes = Object.entries(op.responses || {}).map(([code, r]) => {
    const sc = r.content && r.content['application/json'];
    return h('li', null, h('code', null, code), ` ${r.description || ''}${sc ? ' · ' + schemaText(sc.schema) : ''}`);
  });
  return h('ul', {class: 'codes'}, codes);
}

function endpoint(base, path, method, op, schemas) {
  return h('details', {class: 'endpoint', dataset: {path, method}},
    h('summary', null, h('span', {class: `method ${method}`}, method.toUpperCase()),
      h('code', {class: 'path'}, base + path), h('span', {class: 'summary'}, op.summary || '')),
    params(op.parameters), body(op, schemas), h('p', {class: 'muted'}, 'Responses'), responses(op));
}

function render(doc, filter) {
  const base = (doc.servers && doc.servers[0] && doc.servers[0].url) || '';
  const schemas = (doc.components && doc.components.schemas) || {};
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const hay = `${m} ${path} ${op.summary || ''}`.toLowerCase();
      if (filter && !hay.includes(filter)) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push(endpoint(base, path, m, op, schemas));
    }
  }
  if (!groups.size) return h('p', {class: 'muted'}, 'No endpoint matches.');
  return [...groups].map(([tag, items]) => h('section', {class: 'api-group'}, h('h2', null, tag), items));
}

export function mount(root) {
  const out = h('div', {id: 'api-doc'}, h('p', {class: 'muted'}, 'Loading…'));
  const info = h('div', {class: 'slot'});
  const search = h('input', {id: 'api-filter', type: 'search', placeholder: 'path, method or words', autocomplete: 'off'});
  root.append(pageHeader('REST API', h('a', {href: DOC, id: 'api-raw', target: '_blank', rel: 'noopener'}, 'openapi.json')),
    info, h('div', {class: 'card'}, h('div', {class: 'filters'},
      h('div', {class: 'field grow'}, h('label', {for: 'api-filter'}, 'Find an endpoint'), search)), out));
  let doc = null;
  let alive = true;
  search.addEventListener('input', () => doc && replace(out, render(doc, search.value.trim().toLowerCase())));
  fetchJSON(DOC).then((d) => {
    if (!alive) return;
    doc = d;
    replace(info, h('p', {class: 'muted'}, `${d.info.title} v${d.info.version} — ${d.info.description || ''} ` +
      'Every call needs "Authorization: Bearer TOKEN".'));
    replace(out, render(d, ''));
    root.dataset.state = 'ready';
  }).catch((e) => alive && replace(out, errorBox(e)));
  return () => { alive = false; };
}
