// T8 policy: TLS 1.2+ with ECDHE+AEAD ciphers by default; both settable; OpenSSL clients agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, DEFAULT_POLICY } from './policy.js';
import { TlsContextResolver } from './context.js';
import { makeTestCertificate } from './test-certificate.js';
import { startTestServer } from './test/server.js';
import { requireTool, sClient, sessionState } from './test/tools.js';

test('T8 policy: defaults are TLS 1.2 minimum and ECDHE+AEAD only for TLS 1.2', () => {
  assert.equal(DEFAULT_POLICY.minVersion, 'TLSv1.2');
  for (const c of DEFAULT_POLICY.ciphers.split(':')) assert.match(c, /^(TLS_(AES_\d+_GCM|CHACHA20_POLY1305)_SHA\d+|ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305))$/, c);
  // Each row: a setting, why it is refused.
  const rows: Array<[Parameters<typeof checkPolicy>[0], string]> = [
    [{ minVersion: 'SSLv3' as never }, 'SSL 3 is not a TLS version we can set'],
    [{ ciphers: 'NOT-A-CIPHER' }, 'OpenSSL matches no cipher'],
    [{ ciphers: 'TLS_AES_128_GCM_SHA256' }, 'TLS 1.3 suites only while TLS 1.2 is allowed: TLS 1.2 clients would fail'],
    [{ ciphers: '' }, 'empty'],
    [{ ciphers: 'ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384' }, 'spaces: a list is colon-separated'],
    [{ ecdhCurve: 'nope' }, 'an unknown group'],
  ];
  for (const [p, why] of rows) assert.equal(checkPolicy(p).status, 'invalid', why);
  assert.equal(checkPolicy({ minVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384' }).status, 'ok');
});

test('T8 policy: s_client is refused TLS 1.1 and CBC/RSA-kx ciphers; a TLS 1.3-only setting applies without restart', async () => {
  requireTool('openssl', 'openssl');
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate('p.test') });
  resolver.setDomains([], 'p.test');
  const s = await startTestServer(resolver);
  try {
    const old = await sClient(s.host, s.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.equal(sessionState(old.out) === 'New' && /Cipher is \(NONE\)/.test(old.out), true, `TLS 1.1 refused\n${old.out}`);
    const cbc = await sClient(s.host, s.port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-SHA256:AES128-GCM-SHA256:AES128-SHA']);
    assert.match(cbc.out, /Cipher is \(NONE\)/, 'CBC and static-RSA suites refused');
    const good = await sClient(s.host, s.port, ['-tls1_2']);
    assert.match(good.out, /Cipher is ECDHE-ECDSA-AES128-GCM-SHA256/);
    assert.equal(resolver.setPolicy({ minVersion: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256' }).status, 'ok');
    const t12 = await sClient(s.host, s.port, ['-tls1_2']);
    assert.match(t12.out, /Cipher is \(NONE\)/, 'TLS 1.2 now refused');
    const t13 = await sClient(s.host, s.port, ['-tls1_3']);
    assert.match(t13.out, /TLSv1\.3, Cipher is TLS_AES_256_GCM_SHA384/);
    assert.equal(resolver.setPolicy({ ciphers: 'bogus' }).status, 'invalid');
    assert.match((await sClient(s.host, s.port, ['-tls1_3'])).out, /Cipher is TLS_AES_256_GCM_SHA384/, 'an invalid setting keeps the old policy');
  } finally {
    await s.close();
    resolver.close();
  }
});
