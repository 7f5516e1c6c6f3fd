'use strict';
// Test helpers: raw HTTP upgrades and hand-built WebSocket frames over net sockets, for the
// cases a well-behaved client (ws) never produces; polling; one graphql-ws operation run to its end.
const net = require('node:net');
const crypto = require('node:crypto');

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The request a browser would send, with overrides (null drops a header). */
function upgradeRequest({ method = 'GET', path = '/', headers = {} } = {}) {
  const base = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
  };
  const all = { ...base, ...headers };
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null) head += `${k}: ${v}\r\n`;
  return head + '\r\n';
}

/** Collects everything a socket receives; resolves helpers over the growing buffer. */
class Peer {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.closed = false;
    this.waiters = [];
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }
  wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  /** Waits until `pred()` returns a value other than undefined, or fails after `ms`. */
  until(pred, ms = 3000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = pred();
        } catch (e) {
          clearTimeout(t);
          reject(e);
          return;
        }
        if (v !== undefined) {
          clearTimeout(t);
          resolve(v);
        } else this.waiters.push(check);
      };
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`)), ms);
      check();
    });
  }
  /** The HTTP response head: { status, headers, body } once complete (body up to Content-Length). */
  async response() {
    return this.until(() => {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return undefined;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] ?? 0);
      if (this.buf.length < end + 4 + len) return undefined;
      const body = this.buf.subarray(end + 4, end + 4 + len).toString('utf8');
      this.buf = this.buf.subarray(end + 4 + len);
      return { status, headers, body };
    }, 3000, 'an HTTP response');
  }
  /** Next server frame: { fin, opcode, payload, masked }. */
  async frame(ms = 3000) {
    return this.until(() => {
      const f = parseFrame(this.buf);
      if (!f) return undefined;
      this.buf = this.buf.subarray(f.size);
      return f;
    }, ms, 'a frame');
  }
  /** Next close frame's { code, reason } (skipping other frames). */
  async closeFrame(ms = 3000) {
    for (;;) {
      const f = await this.frame(ms);
      if (f.opcode === 8) {
        return {
          code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null,
          reason: f.payload.subarray(2).toString('utf8'),
        };
      }
    }
  }
  waitEnd(ms = 3000) {
    return this.until(() => (this.ended || this.closed ? true : undefined), ms, 'the server to end the connection');
  }
  write(b) {
    this.socket.write(b);
  }
  destroy() {
    this.socket.destroy();
  }
}

function connect(port, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, ...opts }, () => resolve(new Peer(s)));
    s.once('error', reject);
  });
}

/** Connects and completes a valid upgrade; returns the peer with the 101 consumed. */
async function upgraded(port, path = '/') {
  const p = await connect(port);
  p.write(upgradeRequest({ path }));
  const res = await p.response();
  if (res.status !== 101) throw new Error(`expected 101, got ${res.status}`);
  return p;
}

/** A client frame. `mask: false` sends it unmasked; `len` overrides the declared length. */
function clientFrame({ fin = true, rsv = 0, opcode = 1, payload = Buffer.alloc(0), mask = true, len } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = len ?? data.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const m = mask ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (n < 126) head.push(m | n);
  else if (n < 65536) {
    head.push(m | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(n);
  } else {
    head.push(m | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(n));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), ext, data]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(data.map((b, i) => b ^ key[i % 4]));
  return Buffer.concat([Buffer.from(head), ext, key, masked]);
}

function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

function parseFrame(buf) {
  if (buf.length < 2) return null;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  const masked = (buf[1] & 0x80) !== 0;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  if (masked) off += 4;
  if (buf.length < off + len) return null;
  return { fin, opcode, masked, payload: buf.subarray(off, off + len), size: off + len };
}

/** Open file descriptors of this process. */
function fdCount() {
  return require('node:fs').readdirSync('/proc/self/fd').length;
}

/** Polls `fn` until it returns true, or throws after `ms`. */
async function eventually(fn, ms = 3000, what = 'condition') {
  const until = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs one operation on a graphql-ws client to its end: `{ results, error }` (`error` null
 * when it completed).
 * @param {any} client a graphql-ws `createClient` client @param {any} payload
 */
function run(client, payload) {
  return new Promise((resolve) => {
    const results = [];
    client.subscribe(payload, {
      next: (r) => results.push(r),
      error: (error) => resolve({ results, error }),
      complete: () => resolve({ results, error: null }),
    });
  });
}

module.exports = { upgradeRequest, connect, upgraded, clientFrame, closePayload, parseFrame, fdCount, eventually, run, KEY };
