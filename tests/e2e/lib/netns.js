// Media tests run inside a network namespace of their own: Janus never uses loopback for media
// (shared/notes/janus-coturn.md). A test file calls netnsTest() at the top: outside the
// namespace it registers one test that runs the same file again inside `unshare -n` (or -rn
// when not root) with a veth pair giving mediaIp, and checks that every inner test passed;
// inside, it returns true and the file registers its real tests. No traffic leaves the namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const inNetns = process.env.CARECOMM_E2E_NETNS === '1';

const needed = ['/usr/bin/janus', '/usr/bin/turnserver', '/usr/bin/unshare'];
export const mediaSkip = (() => {
  const missing = needed.filter((f) => !fs.existsSync(f));
  return missing.length ? `missing ${missing.join(', ')} (scripts/install-deps)` : false;
})();

// Returns true inside the namespace. title names the outer test; inner is how many tests the
// inner run must pass (all of them, none skipped).
export function netnsTest(fileUrl, { title, mediaIp, inner, timeout = 300000 }) {
  if (inNetns) return true;
  test(`${title} (runs this file inside \`unshare -n\`)`, { skip: mediaSkip, timeout }, () => {
    const self = fileURLToPath(fileUrl);
    const setup = [
      'set -e',
      // No IPv6 here: its link-local addresses arrive a moment after the links come up, and
      // Chromium takes that for a network change that aborts whatever it is loading then.
      'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6',
      'echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6',
      'ip link set lo up',
      'ip link add v0 type veth peer name v1',
      `ip addr add ${mediaIp}/24 dev v0`,
      'ip link set v0 up',
      'ip link set v1 up',
      `exec "${process.execPath}" --test --test-reporter=tap "${self}"`,
    ].join('; ');
    // root: a network namespace of its own; otherwise a user namespace where we are root too.
    const args = process.getuid() === 0 ? ['-n'] : ['-rn'];
    const env = { ...process.env, CARECOMM_E2E_NETNS: '1' };
    delete env.NODE_TEST_CONTEXT; // else the inner node --test believes it is nested and skips
    const r = spawnSync('unshare', [...args, 'bash', '-c', setup], { env, encoding: 'utf8', timeout: timeout - 10000 });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `the tests inside the namespace failed:\n${out}`);
    assert.match(r.stdout, new RegExp(`# pass ${inner}\\n`), out);
    assert.match(r.stdout, /# fail 0/, out);
    assert.match(r.stdout, /# skipped 0/, out);
  });
  return false;
}

// The media settings of a carecommd in embedded mode on mediaIp (the harness's).
export { mediaEnv } from '../../integration/lib/harness.js';
