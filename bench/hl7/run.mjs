// bench/hl7: SIU^S12 ingest over MLLP into a real carecommd (SQLite in a fresh data folder), every
// message acknowledged only once durably committed. Prints its figures; not a test.
//  1. one connection, one message at a time (the engine waits for each ACK);
//  2. 8 connections in parallel, each waiting for its ACKs (an engine with 8 threads);
//  3. a day for 200 practitioners: 10,000 bookings, then a reschedule (S13) of 1,000 of them sent
//     on the same connection as their booking (order per appointment), over 8 connections.
// Afterwards the store is read directly: each booking applied exactly once, every reschedule seen.
// Usage: node bench/hl7/run.mjs [BUILD_DIR]   (make bench-hl7)
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { siu, frame } from '../../tests/integration/lib/hl7.js';

const build = path.resolve(process.argv[2] || 'build');
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'carecomm-bench-hl7-'));
const PASSWORD = 'Quiet-Lantern-2026!';
const PRACTITIONERS = 200;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});
const cpuMs = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, at 100 Hz
};

// One MLLP connection; send(text) resolves MSA-1 of its ACK (answers come in order).
async function connection(port) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  sock.setNoDelay(true);
  const waiting = [];
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    let e;
    while ((e = buf.indexOf('\x1c\r')) >= 0) {
      const ack = buf.slice(buf.indexOf('\x0b') + 1, e);
      buf = buf.slice(e + 2);
      waiting.shift()(ack.split('\r').find((s) => s.startsWith('MSA|')).split('|')[1]);
    }
  });
  return {
    send: (text) => new Promise((resolve) => { waiting.push(resolve); sock.write(frame(text)); }),
    close: () => sock.destroy(),
  };
}

const day = Date.parse('2026-12-07T07:00:00Z');
let control = 0;
const booking = (n, event = 'S12', shift = 0) => siu({
  event,
  id: `RDV-${n}`,
  control: `B${++control}`,
  start: day + (n % 50) * 15 * 60000 + shift,
  minutes: 15,
  practitioner: `9${String(n % PRACTITIONERS).padStart(10, '0')}`,
  email: `patient${n}@example.org`,
  family: `PATIENT${n}`,
});

// perConn: messages per connection (a number, or one per connection).
async function run(port, conns, perConn, make) {
  const counts = Array.isArray(perConn) ? perConn : Array(conns).fill(perConn);
  const cs = await Promise.all(Array.from({ length: conns }, () => connection(port)));
  const codes = {};
  const t0 = process.hrtime.bigint();
  await Promise.all(cs.map(async (c, k) => {
    for (let i = 0; i < counts[k]; i++) {
      const code = await c.send(make(k, i));
      codes[code] = (codes[code] || 0) + 1;
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  cs.forEach((c) => c.close());
  const total = counts.reduce((a, b) => a + b, 0);
  return { secs, codes, rate: total / secs };
}

const env = { ...process.env, CARECOMM_DATA_DIR: data, CARECOMM_LOG_LEVEL: 'warn' };
console.log(`# machine: ${os.cpus().length} cores, ${os.cpus()[0].model}`);
console.log(`# commit ${spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim()}, ${new Date().toISOString()}`);
process.stdout.write(`# creating ${PRACTITIONERS} practitioners (Argon2id each) ... `);
const jobs = [];
for (let p = 0; p < PRACTITIONERS; p++) {
  jobs.push(new Promise((resolve, reject) => {
    const c = spawn(path.join(build, 'carecomm'), ['user', 'create', `dr${p}`, '--role', 'practitioner', '--ident', `9${String(p).padStart(10, '0')}`], { env });
    c.stdin.end(`${PASSWORD}\n`);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`user create dr${p}: ${code}`))));
  }));
  if (jobs.length % 4 === 0) await Promise.all(jobs.slice(-4));
}
await Promise.all(jobs);
console.log('done');

const httpPort = await freePort();
const mllpPort = await freePort();
const daemon = spawn(path.join(build, 'carecommd'), [], {
  env: { ...env, CARECOMM_LISTEN: `127.0.0.1:${httpPort}`, CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllpPort}` },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  for (let i = 0; i < 100; i++) {
    try { await connection(mllpPort).then((c) => c.close()); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  let n = 0;
  const report = (name, r, cpu) =>
    console.log(`${name}: ${(r.secs).toFixed(2)} s, ${r.rate.toFixed(0)} msg/s, ACKs ${JSON.stringify(r.codes)}, carecommd CPU ${(cpu / (r.rate * r.secs)).toFixed(3)} ms/msg`);

  let c0 = cpuMs(daemon.pid);
  const one = await run(mllpPort, 1, 1000, () => booking(100000 + n++));
  report('1 connection, 1,000 S12', one, cpuMs(daemon.pid) - c0);

  c0 = cpuMs(daemon.pid);
  const eight = await run(mllpPort, 8, 500, () => booking(200000 + n++));
  report('8 connections, 4,000 S12', eight, cpuMs(daemon.pid) - c0);

  // The day: appointment a goes to connection a % 8, its booking before its reschedule.
  c0 = cpuMs(daemon.pid);
  const plan = Array.from({ length: 8 }, () => []);
  for (let a = 0; a < 10000; a++) plan[a % 8].push(booking(a));
  for (let a = 0; a < 10000; a += 10) plan[a % 8].push(booking(a, 'S13', 60 * 60000));
  const dayRun = await run(mllpPort, 8, plan.map((p) => p.length), (k, i) => plan[k][i]);
  report('a day: 10,000 S12 + 1,000 S13 over 8 connections', dayRun, cpuMs(daemon.pid) - c0);
} finally {
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.on('exit', r));
}

// Checked in the store itself, after a clean stop.
const q = (sql) => execFileSync('python3', ['-c', `import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(sys.argv[2]).fetchone()[0])`, path.join(data, 'carecomm.db'), sql], { encoding: 'utf8' }).trim();
const appts = q("SELECT COUNT(*) FROM care_appointments");
const seen = q("SELECT COUNT(*) FROM care_hl7_seen WHERE code = 'AA'");
const dupIds = q("SELECT COUNT(*) FROM (SELECT value FROM care_appt_ids GROUP BY value HAVING COUNT(*) > 1)");
const moved = q(`SELECT COUNT(*) FROM care_appointments a JOIN care_appt_ids i ON i.appointment_id = a.id WHERE CAST(substr(i.value, 5) AS INTEGER) < 10000 AND CAST(substr(i.value, 5) AS INTEGER) % 10 = 0 AND a.start_ms = ${day} + (CAST(substr(i.value, 5) AS INTEGER) % 50) * 900000 + 3600000`);
const invites = q("SELECT COUNT(*) FROM care_outbox WHERE kind = 'invite'");
console.log(`store: ${appts} appointments (expected 15000), ${seen} messages applied with AA (expected 16000), ${dupIds} ids applied twice (expected 0), ${moved} of 1000 reschedules in effect, ${invites} invitations queued`);
fs.rmSync(data, { recursive: true, force: true });
