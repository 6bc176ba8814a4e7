// HL7 v2 as a booking system sends it, shared by the hl7, consult_invite and consult_visit tests:
// SIU messages (v2.5, French profile), MLLP framing, and a raw-socket sender that returns MSA-1.
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './accounts.js';

// A French NIR with its right key (97 - NIR mod 97).
export function nirWithKey(nir13) {
  const key = 97n - (BigInt(nir13) % 97n);
  return `${nir13}${String(key).padStart(2, '0')}`;
}
export const NIR = nirWithKey('2850675123456');
export const PRACTITIONER_IDENT = '10003456789';

// The server's `timezone` (its default): the agenda's days are days there, and ten minutes ahead
// may already be tomorrow.
export const SERVER_TIMEZONE = 'Europe/Paris';
export const agendaDay = (ms) => new Date(ms).toLocaleDateString('en-CA', { timeZone: SERVER_TIMEZONE });

export const hl7Time = (ms) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';

// An SIU message; every part can be changed by the test.
export function siu({ event = 'S12', id, control, sentAt = Date.now(), start, minutes = 30, practitioner = PRACTITIONER_IDENT,
  nir = NIR, email = 'jeanne.dupont@example.org', mobile = '', kind = 'TLC^Téléconsultation', given = 'Jeanne', family = 'DUPONT' } = {}) {
  // PID-13: the e-mail as ^NET^Internet^address, a mobile in XTN-12 with XTN-3 CP (v2.5).
  const telecom = [email && `^NET^Internet^${email}`, mobile && ['', 'PRN', 'CP', '', '', '', '', '', '', '', '', mobile].join('^')]
    .filter(Boolean).join('~');
  return [
    `MSH|^~\\&|AGENDA|CHU-NORD|CARECOMM|CHU-NORD|${hl7Time(sentAt)}||SIU^${event}^SIU_S12|${control}|P|2.5^FRA^2.10|||||FRA|UNICODE UTF-8`,
    `SCH|${id}^AGENDA||||||${kind}|||||||||||||||||Booked`,
    `TQ1|1||||||${hl7Time(start)}|${hl7Time(start + minutes * 60000)}`,
    `PID|1||${nir}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~123456^^^CHU-NORD^PI||${family}^${given}||19850614|F|||||${telecom}||||||||||||||||||VALI`,
    'RGS|1',
    `AIP|1||${practitioner}^MARTIN^Paul^^^^^^RPPS|MED`,
  ].join('\r');
}

export const frame = (text, enc = 'utf8') =>
  Buffer.concat([Buffer.from([0x0b]), Buffer.from(text, enc), Buffer.from([0x1c, 0x0d])]);

// Sends messages over one MLLP connection and resolves the MSA-1 of each ACK, in order.
export async function sendHl7(port, texts) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  let buf = '';
  const codes = [];
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ACKs so far: ${codes}`)), 10000);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let e;
      while ((e = buf.indexOf('\x1c\r')) >= 0) {
        const ack = buf.slice(buf.indexOf('\x0b') + 1, e);
        buf = buf.slice(e + 2);
        codes.push(ack.split('\r').find((s) => s.startsWith('MSA|')).split('|')[1]);
        if (codes.length === texts.length) {
          clearTimeout(timer);
          resolve(codes);
        }
      }
    });
  });
  for (const t of texts) sock.write(frame(t));
  try {
    return await done;
  } finally {
    sock.destroy();
  }
}

// The token of the patient link in the invitation the server wrote to its outbox folder (no
// SMTP relay configured) for the booking whose text contains `text` (its id, a family name).
export async function invitationToken(server, text) {
  const dir = path.join(server.dataDir, 'outbox');
  let token;
  await waitFor(() => {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((x) => x.endsWith('-invite.eml')) : []) {
      const raw = fs.readFileSync(path.join(dir, f), 'utf8');
      if (raw.includes(text)) token = /\/visit\/(\S+)\r?$/m.exec(raw)[1];
    }
    return !!token;
  }, { what: `the invitation of ${text}` });
  return token;
}
