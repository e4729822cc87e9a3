// apiForm builds a labelled form whose submit calls the API and shows the
// API's own error (error.message, and error.field marked on its input).

import {h} from './dom.js';
import {ApiError} from './api.js';

function input(id, f) {
  const fid = `${id}-${f.name}`;
  const common = {id: fid, name: f.name, required: f.required, dataset: {field: f.api || f.name}};
  if (f.type === 'select') {
    return h('select', common, f.options.map((o) => h('option', {value: o.value}, o.label)));
  }
  return h('input', {...common, type: f.type || 'text', placeholder: f.placeholder, list: f.list,
    inputmode: f.inputmode, autocomplete: 'off', min: f.min, max: f.max,
    'aria-describedby': f.help ? `${fid}-help` : undefined});
}

function row(id, f) {
  const fid = `${id}-${f.name}`;
  return h('div', {class: 'field'},
    h('label', {for: fid}, f.label, f.required ? h('span', {class: 'req', 'aria-hidden': 'true'}, ' *') : null),
    input(id, f),
    f.help ? h('small', {id: `${fid}-help`, class: 'muted'}, f.help) : null);
}

// fieldFor finds the input an API error field names: "rlocs[0].address"
// belongs to the rlocs input.
function fieldFor(form, field) {
  if (!field) return null;
  const base = field.split(/[.[]/)[0];
  for (const el of form.querySelectorAll('[data-field]')) {
    if (el.dataset.field === field || el.dataset.field === base) return el;
  }
  return null;
}

function values(form) {
  const out = {};
  for (const el of form.querySelectorAll('[data-field]')) out[el.name] = el.value.trim();
  return out;
}

function resetErrors(form, err, ok) {
  err.textContent = '';
  ok.textContent = '';
  form.removeAttribute('data-result');
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    el.setAttribute('aria-describedby', el.dataset.help || '');
  }
}

function showError(form, err, e) {
  const apiErr = e instanceof ApiError;
  err.textContent = apiErr ? e.message : String(e && e.message ? e.message : e);
  if (apiErr && e.field) err.append(' ', h('span', {class: 'err-field'}, `(field: ${e.field})`));
  err.dataset.code = apiErr ? e.code : 'client';
  form.dataset.result = 'error';
  const el = apiErr ? fieldFor(form, e.field) : null;
  if (el) {
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-describedby', err.id);
    el.focus();
  }
}

// apiForm: submit(values) does the call and returns a success message.
export function apiForm({id, title, fields, submit, button = 'Save', danger = false, onDone}) {
  const err = h('p', {id: `${id}-error`, class: 'form-error', role: 'alert'});
  const ok = h('p', {id: `${id}-status`, class: 'form-ok', role: 'status'});
  const btn = h('button', {id: `${id}-submit`, type: 'submit', class: danger ? 'danger' : ''}, button);
  const form = h('form', {id, class: 'api-form', 'aria-labelledby': `${id}-title`, novalidate: true},
    h('h3', {id: `${id}-title`}, title),
    h('div', {class: 'fields'}, fields.map((f) => row(id, f))),
    h('div', {class: 'actions'}, btn, err, ok));
  for (const el of form.querySelectorAll('[aria-describedby]')) el.dataset.help = el.getAttribute('aria-describedby');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors(form, err, ok);
    btn.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const msg = await submit(values(form));
      ok.textContent = msg || 'Done.';
      form.dataset.result = 'ok';
      if (onDone) onDone();
    } catch (e) {
      showError(form, err, e);
    } finally {
      btn.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

// parseList splits "a, b c" into ["a", "b", "c"].
export function parseList(v) {
  return v.split(/[\s,]+/).filter(Boolean);
}

// intOrText sends a number when the text is one, and the text otherwise,
// so the API (not the browser) judges and explains bad input.
export function intOrText(v) {
  return /^-?\d+$/.test(v) ? Number(v) : v;
}
