// Opens N idle event WebSockets (TLS) to a carecommd and reports the server's RSS growth per
// connection. Usage: node bench/ws_idle.js PORT TOKEN CA_FILE SERVER_PID [N]
import fs from 'node:fs';
import WebSocket from 'ws';

const [port, token, caFile, pid, nArg] = process.argv.slice(2);
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
await sleep(12000); console.log("HOLD"); await sleep(600000); // every welcome written, buffers released, malloc trimmed (every 10 s)
const after = rss();
console.log(
  `ws_idle connections=${opened} server_rss_before_kib=${before} server_rss_after_kib=${after} ` +
    `per_connection_kib=${((after - before) / opened).toFixed(2)}`,
);
for (const ws of sockets) ws.terminate();
process.exit(0);
