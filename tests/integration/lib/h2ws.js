// The event WebSocket over HTTP/2, for tests that need the form browsers use on an HTTP/2
// connection (events.test.js, throttle.test.js).
import crypto from 'node:crypto';
import http2 from 'node:http2';
import { MessageLog } from './harness.js';

// The event WebSocket over HTTP/2 (RFC 8441: a CONNECT stream with :protocol websocket), which
// browsers use when the server announces SETTINGS_ENABLE_CONNECT_PROTOCOL, as lws does. A
// minimal client: masked text frames out, frames parsed in; close frames give {code, reason}.
export class H2EventSocket extends MessageLog {
  constructor(server, token, { origin } = {}) {
    super();
    this.session = http2.connect(`https://localhost:${server.port}`, { ca: server.ca() });
    this.session.on('error', () => {});
    let buf = Buffer.alloc(0);
    this.closed = new Promise((resolve) => (this.onClose = resolve));
    this.opened = new Promise((resolve, reject) => {
      this.session.once('remoteSettings', (settings) => {
        if (!settings.enableConnectProtocol) return reject(new Error('no extended CONNECT'));
        const headers = {
          ':method': 'CONNECT',
          ':protocol': 'websocket',
          ':scheme': 'https',
          ':path': '/api/v1/events',
          ':authority': `localhost:${server.port}`,
          'sec-websocket-version': '13',
        };
        if (token) headers.authorization = `Bearer ${token}`;
        if (origin) headers.origin = origin;
        this.stream = this.session.request(headers, { endStream: false });
        this.stream.on('error', () => {});
        this.stream.on('response', (h) => (h[':status'] === 200 ? resolve() : reject(new Error(`status ${h[':status']}`))));
        this.stream.on('close', () => {
          reject(new Error('stream closed before the upgrade'));
          this.onClose({ code: 1006, reason: '' });
        });
        this.stream.on('data', (d) => {
          buf = Buffer.concat([buf, d]);
          for (;;) {
            if (buf.length < 2) return;
            let len = buf[1] & 0x7f;
            let off = 2;
            if (len === 126) {
              if (buf.length < 4) return;
              len = buf.readUInt16BE(2);
              off = 4;
            } else if (len === 127) {
              if (buf.length < 10) return;
              len = Number(buf.readBigUInt64BE(2));
              off = 10;
            }
            if (buf.length < off + len) return;
            const opcode = buf[0] & 0x0f;
            const payload = buf.subarray(off, off + len);
            buf = buf.subarray(off + len);
            if (opcode === 1) {
              this.receive(JSON.parse(payload.toString('utf8')));
            } else if (opcode === 8) {
              this.onClose({ code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') });
            }
          }
        });
      });
      this.session.once('error', reject);
    });
  }

  send(obj) {
    const payload = Buffer.from(JSON.stringify(obj));
    const mask = crypto.randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    this.stream.write(Buffer.concat([head, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]));
  }

  close() {
    this.session.destroy();
  }
}
