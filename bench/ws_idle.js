// Opens N idle event WebSockets (TLS) to a carecommd and reports the server's RSS growth per
// connection. Usage: node bench/ws_idle.js PORT TOKEN CA_FILE SERVER_PID [N] [node|chromium]
// The server keeps part of each client's TLS hello for the connection's life (the cipher suites
// it offered, its groups and signature algorithms), so the figure depends on the client: "node"
// offers OpenSSL's default list (about 60 suites), "chromium" offers what Chromium offers (15),
// which is what the web app and the hospital's tablets send.
import fs from 'node:fs';
import WebSocket from 'ws';

const [port, token, caFile, pid, nArg, clientArg] = process.argv.slice(2);
const client = clientArg || 'node';
// Chromium's offer (its TLS 1.3 suites, then TLS 1.2's), in OpenSSL's names.
const CHROMIUM_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384',
  'AES128-SHA', 'AES256-SHA',
].join(':');
const n = Number(nArg || 5000);
const ca = fs.readFileSync(caFile);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const before = rss();
const sockets = [];
let opened = 0;
for (let i = 0; i < n; i += 100) {
  const batch = [];
  for (let j = i; j < Math.min(n, i + 100); j++) {
    batch.push(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`wss://localhost:${port}/api/v1/events`, {
          ca,
          headers: { authorization: `Bearer ${token}` },
          perMessageDeflate: false,
          ...(client === 'chromium' ? { ciphers: CHROMIUM_CIPHERS, ecdhCurve: 'X25519:P-256:P-384' } : {}),
        });
        ws.once('open', () => {
          ws.send('{"type":"hello"}');
          opened++;
          resolve();
        });
        ws.once('error', reject);
        ws.on('message', () => {});
        sockets.push(ws);
      }),
    );
  }
  await Promise.all(batch);
}
await sleep(12000); // every welcome written, buffers released, malloc trimmed (every 10 s)
const after = rss();
console.log(
  `ws_idle client=${client} connections=${opened} server_rss_before_kib=${before} server_rss_after_kib=${after} ` +
    `per_connection_kib=${((after - before) / opened).toFixed(2)}`,
);
for (const ws of sockets) ws.terminate();
process.exit(0);
