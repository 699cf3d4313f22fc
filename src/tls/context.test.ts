// T2, T4, T7, T8 against OpenSSL's s_client: certificate selection by SNI (names, aliases,
// wildcards) and by local address, mode No, chains sent and verified, certificate changes while
// connections are open, session resumption within and after the TTL, across listeners and
// across a ticket-key rotation, and TLS-tagged logging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { configureLogging, type LogRecord } from '../core/log.js';
import { TlsContextResolver, normalizeAddress, type DomainTlsConfig } from './context.js';
import { TlsSessions } from './sessions.js';
import { makeTestCertificate } from './test-certificate.js';
import { generatePrivateKey } from './keys.js';
import { generateSelfSigned } from './certificates.js';
import { makeTestPki, type TestPki } from './test/pki.js';
import { startTestServer } from './test/server.js';
import { peerSubject, requireTool, sClient, sessionState, tempDir } from './test/tools.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Fixture { pki: TestPki; domains: DomainTlsConfig[]; resolver: TlsContextResolver; sessions: TlsSessions }

async function fixture(ttlSeconds = 300): Promise<Fixture> {
  requireTool('openssl', 'openssl');
  const pki = await makeTestPki();
  const a = await pki.issue({ name: 'a.test', aliases: ['mail.a.test'] }, { commonName: 'a.test', email: 'pm@a.test' }, { extraSan: ['mail.a.test'] });
  const b = await pki.issue({ name: 'b.test', aliases: [] }, { commonName: 'b.test', email: 'pm@b.test' });
  const w = await pki.issue({ name: 'w.test', aliases: [] }, { commonName: 'w.test', email: 'pm@w.test' }, { extraSan: ['*.w.test'] });
  const domains: DomainTlsConfig[] = [
    { name: 'a.test', aliases: ['mail.a.test'], mode: 'custom', keyPem: a.keyPem, certPem: a.certPem, chainPem: pki.intermediatePem },
    { name: 'b.test', aliases: [], localAddresses: ['127.0.0.2'], mode: 'custom', keyPem: b.keyPem, certPem: b.certPem, chainPem: pki.intermediatePem },
    { name: 'w.test', mode: 'custom', keyPem: w.keyPem, certPem: w.certPem, chainPem: pki.intermediatePem },
    { name: 'off.test', aliases: ['mail.off.test'], localAddresses: ['127.0.0.3'], mode: 'no' },
    { name: 't.test', mode: 'test' },
  ];
  const sessions = new TlsSessions({ ttlSeconds });
  const resolver = new TlsContextResolver({ sessions, testCertificate: await makeTestCertificate('main.test') });
  assert.deepEqual(resolver.setDomains(domains, 'main.test'), []);
  return { pki, domains, resolver, sessions };
}

test('T8, T4, T7: SNI picks domain, alias and wildcard; no SNI picks by local address, then main domain; mode No refuses; the chain verifies', async () => {
  const f = await fixture();
  const s1 = await startTestServer(f.resolver, { host: '127.0.0.1' });
  const s2 = await startTestServer(f.resolver, { host: '127.0.0.2' });
  const s3 = await startTestServer(f.resolver, { host: '127.0.0.3' });
  try {
    // Each row: s_client arguments, server, expected subject (or refusal), why.
    const rows: Array<[string[], typeof s1, RegExp | 'refused', string]> = [
      [['-servername', 'a.test'], s1, /CN = a\.test/, 'SNI = a domain name'],
      [['-servername', 'b.test'], s1, /CN = b\.test/, 'SNI = another domain name'],
      [['-servername', 'MAIL.A.TEST'], s1, /CN = a\.test/, 'SNI = an alias, in any case'],
      [['-servername', 'foo.w.test'], s1, /CN = w\.test/, 'a wildcard on the certificate covers one label'],
      [['-servername', 'x.foo.w.test'], s1, /CN = main\.test/, 'a wildcard does not cover two labels: fallback to the main domain'],
      [['-servername', 't.test'], s1, /CN = main\.test/, 'mode Test: the Test Certificate'],
      [['-noservername'], s2, /CN = b\.test/, 'no SNI, second loopback address assigned to b.test'],
      [['-noservername'], s1, /CN = main\.test/, 'no SNI, unassigned address: the main domain (Test Certificate: nothing set for it)'],
      [['-servername', 'unknown.test'], s2, /CN = b\.test/, 'a name nobody serves: the address decides'],
      [['-servername', 'off.test'], s1, 'refused', 'mode No by SNI'],
      [['-servername', 'mail.off.test'], s2, 'refused', 'mode No by SNI alias, even on another domain\'s address'],
      [['-noservername'], s3, 'refused', 'mode No by local address'],
      [['-servername', 'a.test'], s3, /CN = a\.test/, 'SNI for a served domain on a mode-No address still works'],
    ];
    for (const [args, server, expected, why] of rows) {
      const r = await sClient(server.host, server.port, args);
      if (expected === 'refused') {
        assert.equal(peerSubject(r.out), undefined, `${why}: no certificate was sent\n${r.out}`);
        assert.match(r.out, /alert handshake failure|unexpected eof|Cipher is \(NONE\)/, why);
      } else {
        assert.match(peerSubject(r.out) ?? '', expected, `${why}\n${r.out}`);
      }
    }
    assert.equal(f.resolver.startTlsAvailable('127.0.0.3'), false, 'STARTTLS is not offered on a mode-No address');
    assert.equal(f.resolver.startTlsAvailable('::ffff:127.0.0.2'), true, 'IPv4-mapped addresses select like IPv4');
    assert.equal(f.resolver.contextFor('off.test', undefined), null);

    // The chain is sent (T7) and a client that trusts the OpenSSL root verifies the domain.
    const v = await sClient(s1.host, s1.port, ['-servername', 'a.test', '-CAfile', f.pki.rootFile, '-verify_return_error', '-verify_hostname', 'a.test', '-showcerts']);
    assert.match(v.out, /Verify return code: 0 \(ok\)/, v.out);
    assert.equal((v.stdout.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length, 2, 'leaf and intermediate sent');
    assert.match(v.out, /i:O = Mailward Tests, CN = Test Intermediate CA/);
    // Without the intermediate the same client fails: the chain is what makes it verify.
    f.resolver.setDomains(f.domains.map((d) => (d.name === 'a.test' ? { ...d, chainPem: undefined } : d)), 'main.test');
    const nochain = await sClient(s1.host, s1.port, ['-servername', 'a.test', '-CAfile', f.pki.rootFile, '-verify_return_error']);
    assert.doesNotMatch(nochain.out, /Verify return code: 0 \(ok\)/);
  } finally {
    await Promise.all([s1.close(), s2.close(), s3.close()]);
    f.resolver.close();
    f.pki.remove();
  }
});

function tlsConnect(port: number, servername: string): Promise<TLSSocket> {
  const c = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  return once(c, 'secureConnect').then(() => c);
}

test('T8: a certificate changed while connections are open breaks none of them; new connections see the new one', async () => {
  const f = await fixture();
  const server = await startTestServer(f.resolver, { holdOpen: true });
  try {
    const before = await Promise.all([tlsConnect(server.port, 'a.test'), tlsConnect(server.port, 'a.test')]);
    const fp1 = before[0]?.getPeerCertificate().fingerprint256;
    for (const c of before) await once(c, 'data');
    const key = await generatePrivateKey('ecdsa-p256');
    const self = await generateSelfSigned(key.pkcs8Pem, { commonName: 'a.test', email: 'pm@a.test' }, { name: 'a.test', aliases: [] });
    assert.equal(self.status, 'ok');
    if (self.status !== 'ok') return;
    f.resolver.setDomains(f.domains.map((d) => (d.name === 'a.test' ? { ...d, keyPem: key.pkcs8Pem, certPem: self.pem, chainPem: undefined } : d)), 'main.test');
    for (const [i, c] of before.entries()) {
      c.write(`ping${i}\n`);
      const [data] = await once(c, 'data') as [Buffer];
      assert.equal(data.toString(), `echo a.test ping${i}\n`, 'the open connection still works');
    }
    const after = await tlsConnect(server.port, 'a.test');
    const fp2 = after.getPeerCertificate().fingerprint256;
    assert.notEqual(fp2, fp1);
    assert.equal(before[1]?.getPeerCertificate().fingerprint256, fp1, 'open connections keep their certificate');
    for (const c of [...before, after]) c.destroy();
  } finally {
    await server.close();
    f.resolver.close();
    f.pki.remove();
  }
});

test('T2: resumption with s_client -sess_out/-sess_in: Reused within the TTL, New after it, on TLS 1.2 (ticket and session ID) and TLS 1.3, across two listeners', async () => {
  const f = await fixture(2);
  const s1 = await startTestServer(f.resolver, { host: '127.0.0.1', closeAfterMs: 150 });
  const s2 = await startTestServer(f.resolver, { host: '127.0.0.1', closeAfterMs: 150 });
  const dir = tempDir('sessions');
  try {
    const variants: Array<[string, string[]]> = [['tls12-ticket', ['-tls1_2']], ['tls12-id', ['-tls1_2', '-no_ticket']], ['tls13', ['-tls1_3']]];
    const first = await Promise.all(variants.map(([n, a]) => sClient(s1.host, s1.port, [...a, '-servername', 'a.test', '-sess_out', dir.path(n)])));
    for (const r of first) assert.equal(sessionState(r.out), 'New', r.out);
    // Inside the TTL, on the other listener (the "other port" of the same service).
    const again = await Promise.all(variants.map(([n, a]) => sClient(s2.host, s2.port, [...a, '-servername', 'a.test', '-sess_in', dir.path(n)])));
    for (const [i, r] of again.entries()) assert.equal(sessionState(r.out), 'Reused', `${variants[i]?.[0]}: ${r.out}`);
    assert.ok(s2.results.every((r) => r.status === 'ok' && r.resumed && r.domain === 'a.test'), 'the server saw resumptions for a.test');
    // OpenSSL keeps session times in whole seconds: a ticket may resume up to a second past the
    // TTL (session IDs, kept by sessions.ts, expire to the millisecond). Wait TTL + 1.3 s.
    await sleep(3300);
    const late = await Promise.all(variants.map(([n, a]) => sClient(s1.host, s1.port, [...a, '-servername', 'a.test', '-sess_in', dir.path(n)])));
    for (const [i, r] of late.entries()) assert.equal(sessionState(r.out), 'New', `${variants[i]?.[0]} after the TTL: ${r.out}`);
  } finally {
    await Promise.all([s1.close(), s2.close()]);
    f.resolver.close();
    f.pki.remove();
    dir.remove();
  }
});

test('T2: only TLS 1.2 sessions go into the session-ID store; TLS 1.3 ones (tickets only) never do, whatever the client also offers', async () => {
  const f = await fixture();
  const s = await startTestServer(f.resolver, { closeAfterMs: 150 });
  const dir = tempDir('id-store');
  try {
    // Each row: s_client arguments, sessions the store gains, why the row exists.
    const rows: Array<[string[], number, string]> = [
      [['-tls1_3'], 0, 'TLS 1.3 only: resumes by ticket, an ID entry would never be used'],
      [[], 0, 'TLS 1.3 and 1.2 offered: the server picks 1.3'],
      [['-tls1_2', '-no_ticket'], 1, 'TLS 1.2 without tickets: the session ID is how it resumes'],
      [['-tls1_2'], 0, 'TLS 1.2 with a ticket: OpenSSL issues the ticket instead of a stored session (unchanged)'],
    ];
    for (const [args, gained, why] of rows) {
      const before = f.sessions.size;
      const r = await sClient(s.host, s.port, [...args, '-servername', 'a.test', '-sess_out', dir.path('s')]);
      assert.equal(sessionState(r.out), 'New', r.out);
      assert.equal(f.sessions.size - before, gained, why);
    }
    // A TLS 1.3 session kept out of the store still resumes (by its ticket).
    const again = await sClient(s.host, s.port, ['-tls1_3', '-servername', 'a.test', '-sess_out', dir.path('t13')]);
    assert.equal(sessionState(again.out), 'New');
    const resumed = await sClient(s.host, s.port, ['-tls1_3', '-servername', 'a.test', '-sess_in', dir.path('t13')]);
    assert.equal(sessionState(resumed.out), 'Reused', resumed.out);
    assert.equal(f.sessions.size, 1);
  } finally {
    await s.close();
    f.resolver.close();
    f.pki.remove();
    dir.remove();
  }
});

test('T2: ticket keys rotate; a ticket under the previous key still resumes for one TTL, not after a second rotation', async () => {
  const f = await fixture(60);
  const s = await startTestServer(f.resolver, { closeAfterMs: 150 });
  const dir = tempDir('rotation');
  try {
    for (const [n, a] of [['13', ['-tls1_3']], ['12', ['-tls1_2']]] as const) {
      const first = await sClient(s.host, s.port, [...a, '-servername', 'b.test', '-sess_out', dir.path(n)]);
      assert.equal(sessionState(first.out), 'New');
      const gen = f.sessions.current.generation;
      f.resolver.sessions.rotateTicketKeys();
      assert.equal(f.sessions.current.generation, gen + 1);
      const r1 = await sClient(s.host, s.port, [...a, '-servername', 'b.test', '-sess_in', dir.path(n)]);
      assert.equal(sessionState(r1.out), 'Reused', `TLS ${n}: the previous key still decrypts\n${r1.out}`);
      f.resolver.sessions.rotateTicketKeys();
      const r2 = await sClient(s.host, s.port, [...a, '-servername', 'b.test', '-sess_in', dir.path(n)]);
      assert.equal(sessionState(r2.out), 'New', `TLS ${n}: two rotations later the key is gone`);
    }
  } finally {
    await s.close();
    f.resolver.close();
    f.pki.remove();
    dir.remove();
  }
});

test('T2: TLS records are tagged TLS and follow the configured level', async () => {
  const f = await fixture();
  const s = await startTestServer(f.resolver);
  const seen: LogRecord[] = [];
  try {
    configureLogging({ sink: (r) => seen.push(r), levels: { TLS: 'info' } });
    await sClient(s.host, s.port, ['-servername', 'a.test']);
    await sClient(s.host, s.port, ['-servername', 'off.test']);
    const events = seen.filter((r) => r.module === 'TLS').map((r) => `${r.level}:${r.event}:${String(r.domain)}`);
    assert.ok(events.includes('info:tls.handshake:a.test'), events.join(' '));
    assert.ok(events.includes('info:tls.refused:off.test'), events.join(' '));
    assert.ok(seen.every((r) => r.level !== 'low' && r.level !== 'all'), 'nothing below the configured level');
    assert.ok(!JSON.stringify(seen).includes('PRIVATE KEY'));
    seen.length = 0;
    configureLogging({ levels: { TLS: 'none' } });
    await sClient(s.host, s.port, ['-servername', 'a.test']);
    assert.deepEqual(seen.filter((r) => r.module === 'TLS'), []);
  } finally {
    configureLogging({ levels: {}, sink: (r) => { process.stderr.write(JSON.stringify(r) + '\n'); } });
    await s.close();
    f.resolver.close();
    f.pki.remove();
  }
});

test('T8: local addresses normalise (IPv4-mapped, IPv6 forms); non-addresses are problems, not crashes', async () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(normalizeAddress('2001:DB8:0:0::1'), '2001:db8::1');
  assert.equal(normalizeAddress('[::1]'), '::1');
  assert.equal(normalizeAddress('0x7f.1'), null);
  assert.equal(normalizeAddress('mail.test'), null);
  const r = new TlsContextResolver({ testCertificate: await makeTestCertificate('m.test') });
  try {
    const problems = r.setDomains([
      { name: 'a.test', mode: 'test', localAddresses: ['not-an-ip', '127.0.0.9'] },
      { name: 'b.test', mode: 'test', aliases: ['a.test'], localAddresses: ['127.0.0.9'] },
      { name: 'c.test', mode: 'custom' },
    ], 'm.test');
    assert.deepEqual(problems.map((p) => p.domain), ['a.test', 'b.test', 'b.test', 'c.test']);
    assert.equal(r.select(undefined, '127.0.0.9').status === 'ok' && r.select(undefined, '127.0.0.9').domain, 'a.test');
    const c = r.select('c.test', undefined);
    assert.equal(c.status === 'refused' && c.reason, 'no-certificate', 'Custom without a certificate is refused, never given the Test Certificate');
  } finally { r.close(); }
});
