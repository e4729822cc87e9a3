// The REST client: every call carries the bearer token and every failure
// becomes an ApiError with the API's own code, message and field.

const KEY = 'l2lisp.token';
export const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

let unauthorized = () => {};

// onUnauthorized sets what happens when the API rejects the token.
export function onUnauthorized(fn) { unauthorized = fn; }

export function token() { return sessionStorage.getItem(KEY) || ''; }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

// qs builds a query string, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

async function decode(res) {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// request calls the API at BASE + path and returns the decoded JSON.
export async function request(method, path, body, opts = {}) {
  const headers = {Accept: 'application/json', Authorization: 'Bearer ' + token()};
  const init = {method, headers, signal: opts.signal, cache: 'no-store'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'cannot reach the controller: ' + e.message, '');
  }
  const data = res.status === 204 ? null : await decode(res);
  if (!res.ok) {
    const e = (data && typeof data === 'object' && data.error) || {};
    const msg = e.message || (typeof data === 'string' && data) || `${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, e.code || `http_${res.status}`, msg, e.field);
    if (res.status === 401) unauthorized(err);
    throw err;
  }
  return data;
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => request('PATCH', path, body);
export const del = (path) => request('DELETE', path);
export const enc = encodeURIComponent;

// total reads only the count of a mapping query: limit=1 keeps it cheap
// however many EIDs there are.
export async function total(filter, opts) {
  const page = await get('/mappings' + qs({...filter, limit: 1}), opts);
  return page.total;
}

// fetchJSON reads a same-origin document outside the API (no token).
export async function fetchJSON(url) {
  const res = await fetch(url, {cache: 'no-store', headers: {Accept: 'application/json'}});
  if (!res.ok) throw new ApiError(res.status, `http_${res.status}`, `${url}: ${res.status} ${res.statusText}`, '');
  return res.json();
}
