import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVERTISE_DEFAULTS, advertisedMechanisms, mayAdvertiseClearText, mayOfferApop, type AdvertiseInput } from './advertise.js';
import { getMechanism, MECHANISMS } from './registry.js';
import type { SaslMechanism } from './mechanism.js';

// A fixed catalogue with one mechanism per group, so the table does not depend on which
// mechanisms other files have registered yet.
const mk = (name: string, advertiseGroup: SaslMechanism['advertiseGroup'], plus = false): SaslMechanism => ({
  name, advertiseGroup, plus, needs: 'lookup-credentials', clearText: advertiseGroup === 'clear', start: () => { throw new Error('not started in this test'); },
});
const CATALOGUE = [
  mk('SCRAM-SHA-256-PLUS', 'secure', true), mk('SCRAM-SHA-256', 'secure'), mk('CRAM-MD5', 'secure'),
  mk('PLAIN', 'clear'), mk('LOGIN', 'clear'), mk('NTLM', 'ntlm'), mk('MSN', 'msn'), mk('APOP', 'apop'),
];

const base: AdvertiseInput = { ...ADVERTISE_DEFAULTS, linkSecure: false, channelBindingAvailable: false };

void test('A6 A8 advertise: table of settings × link state', () => {
  const rows: [string, Partial<AdvertiseInput>, string[]][] = [
    ['defaults before TLS: no clear text (tls-only), no NTLM/MSN, no -PLUS', {}, ['SCRAM-SHA-256', 'CRAM-MD5']],
    ['defaults over TLS without binding data: clear text allowed, still no -PLUS', { linkSecure: true }, ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN']],
    ['over TLS with channel binding: -PLUS first', { linkSecure: true, channelBindingAvailable: true }, ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN']],
    ['binding data claimed on a clear link is ignored', { channelBindingAvailable: true }, ['SCRAM-SHA-256', 'CRAM-MD5']],
    ['listener allows clear text always (A8 off)', { clearTextAllowed: 'always' }, ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN']],
    ['Advertise Secure off: only clear text, and only where allowed', { advertiseSecure: false, linkSecure: true }, ['PLAIN', 'LOGIN']],
    ['Advertise Secure off before TLS with tls-only: nothing at all', { advertiseSecure: false }, []],
    ['NTLM on', { advertiseNTLM: true }, ['SCRAM-SHA-256', 'CRAM-MD5', 'NTLM']],
    ['MSN on', { advertiseMSN: true }, ['SCRAM-SHA-256', 'CRAM-MD5', 'MSN']],
    ['everything on, TLS with binding', { advertiseNTLM: true, advertiseMSN: true, clearTextAllowed: 'always', linkSecure: true, channelBindingAvailable: true },
      ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'NTLM', 'MSN']],
  ];
  for (const [why, change, expected] of rows) {
    assert.deepEqual(advertisedMechanisms({ ...base, ...change }, CATALOGUE), expected, why);
  }
});

void test('A8 advertise: mayAdvertiseClearText is the one rule', () => {
  assert.equal(mayAdvertiseClearText({ clearTextAllowed: 'tls-only', linkSecure: false }), false);
  assert.equal(mayAdvertiseClearText({ clearTextAllowed: 'tls-only', linkSecure: true }), true);
  assert.equal(mayAdvertiseClearText({ clearTextAllowed: 'always', linkSecure: false }), true);
});

void test('A4 A6 advertise: APOP is never a SASL name; its timestamp follows Advertise Secure', () => {
  assert.ok(!advertisedMechanisms({ ...base, clearTextAllowed: 'always', linkSecure: true }).includes('APOP'));
  assert.equal(mayOfferApop({ advertiseSecure: true }), true);
  assert.equal(mayOfferApop({ advertiseSecure: false }), false);
});

void test('A6 advertise: defaults are MSN and NTLM off, secure on, clear text TLS-only', () => {
  assert.deepEqual({ ...ADVERTISE_DEFAULTS }, { advertiseSecure: true, advertiseMSN: false, advertiseNTLM: false, clearTextAllowed: 'tls-only' });
});

void test('A1 A2 registry: names are unique upper-case, lookup is case-insensitive, the real list follows the policy', () => {
  const names = MECHANISMS.map((m) => m.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.equal(n, n.toUpperCase());
  for (const n of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'APOP']) {
    assert.equal(getMechanism(n.toLowerCase())?.name, n);
  }
  assert.equal(getMechanism('nope'), undefined);
  assert.equal(getMechanism('PLAIN')?.clearText, true);
  assert.equal(getMechanism('LOGIN')?.clearText, true);
  assert.equal(getMechanism('CRAM-MD5')?.clearText, false);
  const before = advertisedMechanisms(base);
  assert.ok(before.includes('CRAM-MD5') && before.includes('DIGEST-MD5'));
  assert.ok(!before.includes('PLAIN') && !before.includes('LOGIN'), 'A8: no clear text before TLS by default');
  const after = advertisedMechanisms({ ...base, linkSecure: true });
  assert.ok(after.includes('PLAIN') && after.includes('LOGIN'));
});
