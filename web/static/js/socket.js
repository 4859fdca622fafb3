// The WebSocket to /ws: hello with the token, reconnects with exponential backoff and jitter, an
// application ping to notice dead links, and a visible connection status (words, not colour alone).
import { $ } from './dom.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 30000;
const PING_EVERY_MS = 15000;
const SILENT_LIMIT_MS = 40000;

const STATUS_TEXT = {
  connecting: 'Connecting…',
  online: 'Connected',
  retrying: 'Connection lost. Trying again…',
  offline: "You're offline. Messages will be sent when you're back online.",
};

export class Socket {
  /**
   * @param {() => string|null} token  the bearer token to send in hello
   * @param {{frame?: (f: object) => void, welcome?: (f: object) => void, unauthorized?: () => void}} handlers
   */
  constructor(token, handlers) {
    this.token = token;
    this.handlers = handlers;
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.lastFrameAt = 0;
    this.stopped = true;
    this.onOnline = () => { if (!this.stopped) this.connectNow(); };
    this.onOffline = () => { if (!this.stopped) this.drop('offline'); };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    $('connection').hidden = false;
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'signed out');
    }
    this.ws = null;
    this.ready = false;
    $('connection').hidden = true;
  }

  /** Sends a frame if the session is ready (welcomed); returns whether it was sent. */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  get isReady() { return this.ready; }

  setStatus(state) {
    const box = $('connection');
    box.dataset.state = state === 'online' ? 'online' : state === 'connecting' ? 'connecting' : 'offline';
    $('connection-text').textContent = STATUS_TEXT[state];
  }

  connectNow() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (!navigator.onLine) { this.setStatus('offline'); return; }
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    const token = this.token();
    if (!token) return;
    this.setStatus('connecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', token }));
    ws.onmessage = (event) => this.receive(ws, event);
    ws.onclose = (event) => this.closed(ws, event);
  }

  receive(ws, event) {
    if (ws !== this.ws) return;
    this.lastFrameAt = Date.now();
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    if (frame.type === 'welcome') {
      this.ready = true;
      this.attempt = 0;
      this.setStatus('online');
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.keepalive(), PING_EVERY_MS);
      this.handlers.welcome?.(frame);
      return;
    }
    if (frame.type === 'pong') return;
    this.handlers.frame?.(frame);
  }

  keepalive() {
    if (!this.ready) return;
    if (Date.now() - this.lastFrameAt > SILENT_LIMIT_MS) { this.drop('retrying'); return; }
    this.send({ type: 'ping' });
  }

  /** Closes the current socket ourselves and schedules (or, when offline, awaits) the next one. */
  drop(state) {
    const ws = this.ws;
    if (ws) {
      ws.onclose = null;
      try { ws.close(); } catch { /* already closing */ }
    }
    this.closed(ws, { code: 1006 }, state);
  }

  closed(ws, event, state) {
    if (ws !== this.ws) return;
    this.ws = null;
    this.ready = false;
    clearInterval(this.pinger);
    this.handlers.disconnected?.();
    if (this.stopped) return;
    // 4401: signed out (logout, expiry); 4403: the account was disabled. Reconnecting cannot help.
    if (event.code === 4401 || event.code === 4403) { this.handlers.unauthorized?.(); return; }
    if (!navigator.onLine || state === 'offline') { this.setStatus('offline'); return; }
    // Full jitter: a random wait up to an exponentially growing ceiling, so many clients do not stampede.
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = 250 + Math.random() * ceiling;
    this.setStatus('retrying');
    this.timer = setTimeout(() => this.connectNow(), delay);
  }
}
