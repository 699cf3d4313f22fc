// A9: challenge mechanisms get the secret they need where the stored form allows it (clear text,
// SCRAM keys, NT hash), and a clean "one-way" answer otherwise. SCRAM keys and NT hashes computed
// from clear passwords are checked against gsasl and mkpasswd; MD4 against RFC 1320.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { derive, hashNewPassword, verify, type DeriveKind, type DerivedCredential } from './index.js';
import { md4 } from './algorithms/nt.js';
import { saslPrep } from './algorithms/saslprep.js';
import { runTool, toolOutput } from './testing/tools.js';

function value(r: Awaited<ReturnType<typeof derive>>): DerivedCredential {
  assert.ok(r.available, `expected a secret, got ${JSON.stringify(r)}`);
  return r.value;
}

function scramString(v: DerivedCredential): string {
  assert.equal(v.kind, 'scram');
  if (v.kind !== 'scram') return '';
  return `{SCRAM-${v.algorithm}}${v.iterations},${v.salt.toString('base64')},${v.storedKey.toString('base64')},${v.serverKey.toString('base64')}`;
}

test('A3 A9: MD4 (stored NT hashes and the NTLM mechanism) matches the RFC 1320 appendix A.5 test suite', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [m, h] of suite) assert.equal(md4(Buffer.from(m, 'latin1')).toString('hex'), h, JSON.stringify(m));
});

test('A9: a clear password yields itself, its NT hash (as mkpasswd -m nt) and SCRAM keys (as gsasl --mkpasswd)', async () => {
  for (const pw of ['password', 'correct horse battery staple']) {
    const stored = pw;
    assert.deepEqual(value(await derive(stored, 'clear')), { kind: 'clear', password: Buffer.from(pw) });
    const nt = value(await derive(stored, 'nt-hash'));
    const mk = await toolOutput('mkpasswd', ['-m', 'nt', pw]);
    assert.equal(nt.kind === 'nt-hash' ? `$3$$${nt.hash.toString('hex')}` : '', mk);
    const salt = Buffer.from('0123456789abcdef');
    for (const [kind, mech] of [['scram-sha-1', 'SCRAM-SHA-1'], ['scram-sha-256', 'SCRAM-SHA-256']] as const) {
      const mine = scramString(value(await derive(stored, kind, { scramSalt: salt, scramIterations: 4096 })));
      const theirs = await toolOutput('gsasl', ['--mkpasswd', '--mechanism', mech, '--password', pw, '--salt', salt.toString('base64'), '--iteration-count', '4096']);
      assert.equal(mine, theirs, `${mech} for ${pw}`);
    }
  }
});

test('A9: NT hash of a non-ASCII clear password is MD4 of UTF-16LE (Windows), not libxcrypt byte widening', async () => {
  const pw = 'pässwörd€';
  const nt = value(await derive(pw, 'nt-hash'));
  assert.equal(nt.kind === 'nt-hash' ? nt.hash.toString('hex') : '', md4(Buffer.from(pw, 'utf16le')).toString('hex'));
});

test('A9: a supplied password that is not UTF-8 never matches through a lossy decoding', async () => {
  // 0x61 0xFF is not UTF-8; a decoder that replaced 0xFF by U+FFFD would make it equal "a\uFFFD".
  const bytes = Buffer.from([0x61, 0xff]);
  const ntOfReplacement = md4(Buffer.from('a\ufffd', 'utf16le')).toString('hex');
  // (SCRAM cannot take part: SASLprep prohibits U+FFFD, RFC 3454 C.6.)
  assert.deepEqual(await derive('a\ufffd', 'scram-sha-256'), { available: false, reason: 'not-derivable' });
  for (const stored of ['a\ufffd', `{NTLM}${ntOfReplacement}`]) {
    assert.equal((await verify('a\ufffd', stored, { encryption: 'one-way' })).ok, true, stored);
    assert.equal((await verify(bytes, stored, { encryption: 'one-way' })).ok, false, stored);
  }
});

test('A9: SCRAM keys from a clear password apply SASLprep exactly as gsasl does', async () => {
  // U+00A0 maps to SPACE, U+FB01 (fi ligature) becomes "fi" under NFKC, U+00AD is removed.
  const pw = 'a\u00a0b\ufb01c\u00add';
  assert.equal(saslPrep(pw, 'stored'), 'a bficd');
  const salt = Buffer.from('c2FsdHNhbHQ=', 'base64');
  const mine = scramString(value(await derive(pw, 'scram-sha-256', { scramSalt: salt, scramIterations: 4096 })));
  const theirs = await toolOutput('gsasl', ['--mkpasswd', '--mechanism', 'SCRAM-SHA-256', '--password', pw, '--salt', salt.toString('base64'), '--iteration-count', '4096']);
  assert.equal(mine, theirs);
  // A prohibited character (a control) makes gsasl refuse, and us answer not-derivable.
  const bad = 'a\u0001b';
  assert.equal(saslPrep(bad, 'stored'), null);
  const g = await runTool('gsasl', ['--mkpasswd', '--mechanism', 'SCRAM-SHA-256', '--password', bad, '--salt', salt.toString('base64'), '--iteration-count', '4096']);
  assert.notEqual(g.code, 0, 'gsasl accepted a prohibited character');
  assert.deepEqual(await derive(bad, 'scram-sha-256'), { available: false, reason: 'not-derivable' });
});

test('A9: SCRAM keys from a clear password are stable for a given salt, fresh otherwise', async () => {
  const salt = Buffer.alloc(16, 7);
  const a = value(await derive('pw', 'scram-sha-256', { scramSalt: salt }));
  const b = value(await derive('pw', 'scram-sha-256', { scramSalt: salt }));
  assert.deepEqual(a, b);
  const c = value(await derive('pw', 'scram-sha-256'));
  assert.ok(a.kind === 'scram' && c.kind === 'scram' && !a.salt.equals(c.salt));
  assert.ok(c.kind === 'scram' && c.iterations === 65_536);
});

test('A9: stored SCRAM keys (doveadm, gsasl) are given back as they are, for their own algorithm only', async () => {
  const dv = await toolOutput('doveadm', ['pw', '-s', 'SCRAM-SHA-256', '-p', 'pencil']);
  assert.equal(scramString(value(await derive(dv, 'scram-sha-256'))), dv);
  assert.deepEqual(await derive(dv, 'scram-sha-1'), { available: false, reason: 'one-way' });
  assert.deepEqual(await derive(dv, 'clear'), { available: false, reason: 'one-way' });
  assert.deepEqual(await derive(dv, 'nt-hash'), { available: false, reason: 'one-way' });
  const gs = await toolOutput('gsasl', ['--mkpasswd', '--mechanism', 'SCRAM-SHA-1', '--password', 'pencil', '--iteration-count', '4096']);
  assert.equal(scramString(value(await derive(gs, 'scram-sha-1'))), gs);
  assert.deepEqual(await derive(gs, 'scram-sha-256'), { available: false, reason: 'one-way' });
});

test('A9: a stored NT hash gives NTLM its hash and nothing else', async () => {
  const mk = await toolOutput('mkpasswd', ['-m', 'nt', 'password']);
  const v = value(await derive(mk, 'nt-hash'));
  assert.equal(v.kind === 'nt-hash' ? v.hash.toString('hex') : '', '8846f7eaee8fb117ad06bdd830b7586c');
  const dv = value(await derive('{NTLM}8846f7eaee8fb117ad06bdd830b7586c', 'nt-hash'));
  assert.deepEqual(dv, v);
  assert.deepEqual(await derive(mk, 'clear'), { available: false, reason: 'one-way' });
});

test('A9: every one-way hash answers "one-way" for every secret, cleanly', async () => {
  const made = await hashNewPassword('password', { encryption: 'one-way' });
  assert.ok(made.ok);
  const hashes = [
    made.password,
    await toolOutput('openssl', ['passwd', '-1', 'password']),
    await toolOutput('openssl', ['passwd', '-6', 'password']),
    `{CRYPT}${await toolOutput('mkpasswd', ['-m', 'des', 'password'])}`,
    await toolOutput('mkpasswd', ['-m', 'bcrypt', '-R', '5', 'password']),
    ...await Promise.all(['SMD5', 'SHA', 'SSHA', 'SHA256', 'SSHA256', 'SHA512', 'SSHA512', 'LDAP-MD5'].map((s) => toolOutput('doveadm', ['pw', '-s', s, '-p', 'password']))),
  ];
  const kinds: DeriveKind[] = ['clear', 'scram-sha-1', 'scram-sha-256', 'nt-hash'];
  for (const h of hashes) {
    for (const k of kinds) assert.deepEqual(await derive(h, k), { available: false, reason: 'one-way' }, `${k} from ${h}`);
  }
});
