// The live change feed. It reads /api/v1/events with fetch rather than
// EventSource: fetch can send the bearer token as a header (the token stays
// out of URLs and logs) and sees every event name, where EventSource only
// delivers the names it was told about in advance. Reconnects resume with
// Last-Event-ID, as EventSource would.

import {BASE, token, ApiError} from './api.js';

const KEEP = 500; // events kept for pages opened later
const BACKLOG = 100; // history asked for on the first connection

class Stream {
  constructor() {
    this.listeners = new Set();
    this.stateListeners = new Set();
    this.recent = [];
    this.lastId = null;
    this.state = 'idle';
    this.running = false;
    this.abort = null;
    this.retry = 1000;
  }

  // on calls fn with every event; it returns the function that stops it.
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onState(fn) {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  setState(s, detail) {
    this.state = s;
    for (const fn of this.stateListeners) fn(s, detail);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    if (this.abort) this.abort.abort();
    this.setState('idle');
  }

  async loop() {
    while (this.running) {
      try {
        await this.connectOnce();
        this.retry = 1000;
      } catch (e) {
        if (!this.running) return;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
          this.setState('error', e.message);
          this.running = false;
          return;
        }
      }
      if (!this.running) return;
      this.setState('reconnecting');
      await new Promise((r) => setTimeout(r, this.retry));
      this.retry = Math.min(this.retry * 2, 15000);
    }
  }

  // firstURL asks for a little history the first time, so the timeline is
  // not empty; /healthz tells where the feed is without a token.
  async firstURL() {
    try {
      const res = await fetch('/healthz', {cache: 'no-store'});
      const body = await res.json();
      const last = Number(body.last_event_id) || 0;
      return `${BASE}/events?since=${Math.max(0, last - BACKLOG)}`;
    } catch {
      return `${BASE}/events`;
    }
  }

  async connectOnce() {
    this.abort = new AbortController();
    const headers = {Accept: 'text/event-stream', Authorization: 'Bearer ' + token()};
    let url = `${BASE}/events`;
    if (this.lastId !== null) headers['Last-Event-ID'] = String(this.lastId);
    else url = await this.firstURL();
    const res = await fetch(url, {headers, signal: this.abort.signal, cache: 'no-store'});
    if (!res.ok) {
      let msg = `${res.status} ${res.statusText}`;
      try { msg = (await res.json()).error.message || msg; } catch { /* keep the status */ }
      throw new ApiError(res.status, 'stream', msg, '');
    }
    this.setState('live');
    await this.read(res.body.getReader());
  }

  async read(reader) {
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buf += dec.decode(value, {stream: true}).replace(/\r\n?/g, '\n');
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        this.parse(block);
      }
    }
  }

  // parse reads one server-sent event block (id, event, data lines).
  parse(block) {
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const c = line.indexOf(':');
      const field = c < 0 ? line : line.slice(0, c);
      const val = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
      if (field === 'id') id = val;
      else if (field === 'data') data.push(val);
    }
    if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
    if (!data.length) return;
    let ev;
    try {
      ev = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    this.dispatch(ev);
  }

  dispatch(ev) {
    this.recent.push(ev);
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
    for (const fn of this.listeners) {
      try {
        fn(ev);
      } catch (e) {
        console.error('event listener', e);
      }
    }
  }
}

export const stream = new Stream();
