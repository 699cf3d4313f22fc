// A6 A8: the pre-login policy of a connection is made from the settings and the link facts only,
// shared between connections with the same facts (issue 8: it was rebuilt for every greeting and
// login), and advertising SCRAM-PLUS looks at which channel bindings exist without computing them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServer } from '../../settings/effective.js';
import { imapPolicy } from '../imap/policy.js';
import { pop3Policy } from '../pop3/policy.js';
import { advertiseInput } from './advertise.js';
import type { ConnectionInfo } from './session.js';

function info(extra: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return { id: 's1', service: 'IMAP', remoteAddress: '192.0.2.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 143, secure: false, clearTextLogin: 'always', startTlsAvailable: true, ...extra };
}

test('A6 A8 policies: one shared frozen answer per settings object and link facts; new settings, new answer', () => {
  const s1 = resolveServer({}).values;
  const a = imapPolicy(info(), s1);
  assert.equal(imapPolicy(info({ id: 's2', remoteAddress: '198.51.100.7' }), s1), a, 'another client with the same link facts shares it');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.capabilities) && Object.isFrozen(a.mechanisms));
  assert.ok(a.capabilities.includes('STARTTLS'));
  const tlsOnly = imapPolicy(info({ clearTextLogin: 'tls-only' }), s1);
  assert.notEqual(tlsOnly, a);
  assert.ok(tlsOnly.capabilities.includes('LOGINDISABLED'), 'A8: another link fact, another answer');
  assert.ok(!imapPolicy(info({ startTlsAvailable: false }), s1).capabilities.includes('STARTTLS'));
  const s2 = resolveServer({ AdvertiseSecureSASL: 'NO' }).values;
  assert.notEqual(imapPolicy(info(), s2), a, 'a settings change (a new object) is seen at once');
  assert.equal(pop3Policy(info({ service: 'POP' }), s1, true).apop, true);
  assert.equal(pop3Policy(info({ service: 'POP' }), s1, false).apop, false, 'APOP follows the greeting');
  assert.equal(a.settings, s1, 'the settings inside are the directory\'s own object, not a copy');
  assert.ok(!Object.isFrozen(s1), 'and are not frozen by the cache');
});

test('A6 SCRAM-PLUS is advertised from which bindings exist; a binding computed on demand is not computed for it', () => {
  const s = resolveServer({}).values;
  let computed = 0;
  const bindings = {};
  Object.defineProperty(bindings, 'tls-exporter', { enumerable: true, get: () => { computed += 1; return Buffer.alloc(32, 1); } });
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', resumed: false, channelBindings: bindings };
  assert.equal(advertiseInput(info({ secure: true, tls }), s).channelBindingAvailable, true);
  assert.ok(imapPolicy(info({ secure: true, startTlsAvailable: false, tls }), s).mechanisms.some((m) => m.endsWith('-PLUS')));
  assert.equal(computed, 0, 'no key derivation just to advertise');
  const empty = { protocol: 'TLSv1.2', cipher: 'x', resumed: false, channelBindings: { 'tls-server-end-point': Buffer.alloc(0) } };
  assert.equal(advertiseInput(info({ secure: true, tls: empty }), s).channelBindingAvailable, false, 'an empty value is no binding');
  assert.equal(advertiseInput(info({ secure: false, tls }), s).channelBindingAvailable, false, 'no binding on a clear link');
});
