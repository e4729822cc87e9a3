// The dashboard shell: login, hash routing between pages, and the status
// of the live event stream.

import {h, replace} from './dom.js';
import {get, token, setToken, clearToken, onUnauthorized, ApiError} from './api.js';
import {stream} from './stream.js';
import * as overview from './pages/overview.js';
import * as topology from './pages/topology.js';
import * as mappings from './pages/mappings.js';
import * as subscriptions from './pages/subscriptions.js';
import * as host from './pages/host.js';
import * as events from './pages/events.js';
import * as manage from './pages/manage.js';
import * as apidoc from './pages/apidoc.js';
import * as tokens from './pages/tokens.js';

const pages = {overview, topology, mappings, subscriptions, host, events, manage, tokens, api: apidoc};
const view = document.getElementById('view');
let cleanup = null;
let started = false;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, query] = raw.split('?');
  return {name: name || 'overview', params: new URLSearchParams(query || '')};
}

function route() {
  if (!started) return;
  if (cleanup) {
    try { cleanup(); } catch (e) { console.error('page cleanup', e); }
    cleanup = null;
  }
  const {name, params} = parseHash();
  const page = pages[name];
  const navName = name === 'host' ? 'mappings' : name;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.route === navName) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  replace(view);
  if (!page) {
    view.append(h('section', {class: 'page', dataset: {page: 'missing'}},
      h('h1', null, 'No such page'), h('p', null, h('a', {href: '#/overview'}, 'Back to the overview'))));
    return;
  }
  const root = h('section', {class: 'page', id: `page-${name}`, dataset: {page: name}});
  view.append(root);
  document.title = `${page.title || name} · l2lisp`;
  try {
    cleanup = page.mount(root, params) || null;
  } catch (e) {
    root.append(h('p', {class: 'form-error', role: 'alert'}, `This page failed: ${e.message}`));
  }
}

function showLogin(message) {
  started = false;
  stream.stop();
  if (cleanup) { cleanup(); cleanup = null; }
  replace(view);
  document.getElementById('logout').hidden = true;
  const overlay = document.getElementById('login');
  overlay.hidden = false;
  document.getElementById('login-error').textContent = message || '';
  const input = document.getElementById('login-token');
  input.value = '';
  input.focus();
}

function start() {
  document.getElementById('login').hidden = true;
  document.getElementById('logout').hidden = false;
  started = true;
  stream.start();
  route();
}

async function login(ev) {
  ev.preventDefault();
  const input = document.getElementById('login-token');
  const errEl = document.getElementById('login-error');
  const btn = document.getElementById('login-submit');
  errEl.textContent = '';
  setToken(input.value.trim());
  btn.disabled = true;
  try {
    await get('/networks');
    start();
  } catch (e) {
    clearToken();
    errEl.textContent = e instanceof ApiError ? e.message : String(e);
    input.focus();
  } finally {
    btn.disabled = false;
  }
}

function watchStream() {
  const pill = document.getElementById('stream-status');
  const text = {idle: 'stream idle', live: 'live', reconnecting: 'reconnecting…', error: 'stream refused'};
  stream.onState((st, detail) => {
    pill.dataset.state = st;
    pill.textContent = text[st] || st;
    pill.title = detail || '';
  });
}

function init() {
  onUnauthorized((e) => {
    clearToken();
    showLogin(`The controller refused the token: ${e.message}`);
  });
  document.getElementById('login-form').addEventListener('submit', login);
  document.getElementById('logout').addEventListener('click', () => {
    clearToken();
    showLogin('Logged out.');
  });
  window.addEventListener('hashchange', route);
  watchStream();
  if (token()) start();
  else showLogin();
}

init();
