// The string catalogue: French and English have the same keys, no empty text, and the same
// {placeholders} in each translation; every key the code names exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root } from '../integration/lib/harness.js';

const dir = path.join(root, 'web/src/i18n');
const fr = JSON.parse(fs.readFileSync(path.join(dir, 'fr.json'), 'utf8'));
const en = JSON.parse(fs.readFileSync(path.join(dir, 'en.json'), 'utf8'));
const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('fr and en have the same keys', () => {
  assert.deepEqual(Object.keys(en).sort(), Object.keys(fr).sort());
});

test('no empty string, the same placeholders in both languages', () => {
  for (const [k, v] of Object.entries(fr)) {
    assert.ok(typeof v === 'string' && v.trim(), `fr ${k} is empty`);
    assert.ok(typeof en[k] === 'string' && en[k].trim(), `en ${k} is empty`);
    assert.deepEqual(placeholders(en[k]), placeholders(v), `placeholders of ${k}`);
  }
});

test('every key named in the code is in the catalogue', () => {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name)) files.push(p);
    }
  };
  walk(path.join(root, 'web/src'));
  const missing = [];
  for (const f of files) {
    const src = fs.readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) if (!(m[1] in fr)) missing.push(`${path.basename(f)}: ${m[1]}`);
    // Keys built from a prefix (t(`role.${r}`)): every value the code can produce must exist.
  }
  assert.deepEqual(missing, []);
  for (const role of ['admin', 'practitioner', 'nurse', 'secretary', 'it_support']) assert.ok(`role.${role}` in fr, role);
  for (const o of ['success', 'failure', 'denied', 'pending']) assert.ok(`audit.outcome.${o}` in fr, o);
  for (const a of ['messages', 'meetings', 'consultations', 'expertise', 'devices']) {
    assert.ok(`placeholder.${a}` in fr && `home.card.${a}` in fr && `nav.${a}` in fr, a);
  }
  assert.ok('home.card.admin' in fr);
});
