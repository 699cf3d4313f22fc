// Issue 6 proof through Mailward's real listeners (started by startServer, certificates set
// through DomainSecurityService as an administrator would), checked with OpenSSL's s_client:
// T8 SNI selection for two domains and an alias, and by the local address without SNI; T2 session
// resumption inside the TTL and not after it (TLS 1.3 tickets, TLS 1.2 tickets and session IDs),
// across the STARTTLS and implicit ports of one service; T6/T8 a certificate change while
// connections are open breaks none of them, and new connections get the new certificate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { LineClient } from '../../src/protocols/common/test-support.js';
import { makeTestPki, type TestPki } from '../../src/tls/test/pki.js';
import { openssl, peerSubject, sessionState, tempDir, type RunResult } from '../../src/tls/test/tools.js';
import { DOMAIN, installCertificate, LOCAL, startStack, type Stack } from './stack.js';
import { requireTool } from './tools.js';
import { until } from './wire.js';

const OTHER = 'other.test';
const ALIAS = 'alias.test';
/** T2: a short Time To Live, so that "after the TTL" is a few seconds into the test. */
const TTL_SECONDS = 4;
const PASSWORD = 'Alice-tls-pw-1';

let st: Stack;
let pki: TestPki;
let tmp: ReturnType<typeof tempDir>;
const certs: Record<string, string> = {};

before(async () => {
  requireTool('openssl', 'openssl');
  tmp = tempDir('interop-tls');
  st = await startStack({
    listeners: {
      IMAP: [
        { id: 'imap-s', TLS: 'starttls' }, { id: 'imap-i', TLS: 'implicit' },
        // The same service on the address assigned to other.test (T8 without SNI).
        { id: 'imap-i2', TLS: 'implicit', Address: '127.0.0.2' },
      ],
      SMTP: [{ id: 'smtp-s', TLS: 'starttls' }],
    },
    accounts: [{ name: 'alice', password: PASSWORD }],
    server: { TLSSessionTimeToLive: String(TTL_SECONDS) },
    domains: { [OTHER]: { LocalIPAddresses: ['127.0.0.2'] } },
  });
  await st.server.services.admin.setDomainAliases(LOCAL, OTHER, [ALIAS]);
  pki = await makeTestPki();
  const main = await pki.issue({ name: DOMAIN, aliases: [] }, { commonName: DOMAIN, email: `postmaster@${DOMAIN}` });
  const other = await pki.issue({ name: OTHER, aliases: [ALIAS] }, { commonName: OTHER, email: `postmaster@${OTHER}` }, { extraSan: [ALIAS] });
  await installCertificate(st.security, DOMAIN, main.keyPem, main.certPem, pki.intermediatePem);
  await installCertificate(st.security, OTHER, other.keyPem, other.certPem, pki.intermediatePem);
  await st.server.runtime.settled();
  certs[DOMAIN] = main.certPem;
  certs[OTHER] = other.certPem;
  await st.dv.deliver(`alice@${DOMAIN}`, 'Subject: tls seed\r\n\r\ntls-seed-body\r\n');
});

after(async () => {
  await st?.stop();
  pki?.remove();
  tmp?.remove();
});

/** s_client against a listener. The input is sent after the handshake: a LOGOUT (or QUIT), so
 *  that the server closes and s_client, run with -ign_eof, ends - after a TLS 1.3 ticket, which
 *  comes after the handshake, has arrived for -sess_out. */
function sc(id: string, args: string[], opts: { host?: string; starttls?: 'imap' | 'smtp' } = {}): Promise<RunResult> {
  const input = opts.starttls === 'smtp' ? 'QUIT\r\n' : 'Z LOGOUT\r\n';
  return openssl([
    's_client', '-connect', `${opts.host ?? '127.0.0.1'}:${st.port(id)}`, '-ign_eof',
    ...(opts.starttls ? ['-starttls', opts.starttls] : []), '-CAfile', pki.rootFile, ...args,
  ], { input, timeoutMs: 15_000 });
}

function subjectCN(out: string): string | undefined {
  return /CN ?= ?([^,/\n]+)/.exec(peerSubject(out) ?? '')?.[1]?.trim();
}

/** The server certificate s_client received, as PEM. */
function served(out: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out);
  assert.ok(m, `no certificate in s_client output:\n${out.slice(0, 3000)}`);
  return m[0];
}

function sameCert(a: string, b: string): boolean {
  return new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;
}

test('T8 SNI on the implicit and STARTTLS IMAP ports and on SMTP STARTTLS: two domains and an alias each get their certificate, and it verifies against the test CA with the name asked for', async () => {
  for (const [id, starttls] of [['imap-i', undefined], ['imap-s', 'imap'], ['smtp-s', 'smtp']] as const) {
    for (const [name, owner] of [[DOMAIN, DOMAIN], [OTHER, OTHER], [ALIAS, OTHER]] as const) {
      const r = await sc(id, ['-servername', name, '-verify_hostname', name, '-verify_return_error'], starttls ? { starttls } : {});
      assert.equal(subjectCN(r.out), owner, `${id} SNI ${name}:\n${r.out.slice(0, 2000)}`);
      assert.ok(sameCert(served(r.out), certs[owner]!), `${id} SNI ${name}: the domain's certificate`);
      assert.match(r.out, /Verify return code: 0 \(ok\)/, `${id} SNI ${name} verifies`);
    }
  }
});

test('T8 without SNI: a connection to 127.0.0.2 (assigned to other.test) gets other.test\'s certificate; one to 127.0.0.1 gets the main domain\'s', async () => {
  const a = await sc('imap-i2', ['-noservername'], { host: '127.0.0.2' });
  assert.equal(subjectCN(a.out), OTHER, a.out.slice(0, 2000));
  assert.ok(sameCert(served(a.out), certs[OTHER]!));
  const b = await sc('imap-i', ['-noservername']);
  assert.equal(subjectCN(b.out), DOMAIN, b.out.slice(0, 2000));
});

test('T2 resumption inside the TTL and not after it: TLS 1.3 tickets, TLS 1.2 tickets and TLS 1.2 session IDs (-no_ticket)', async () => {
  const variants = [
    { name: 'TLS 1.3 ticket', args: ['-tls1_3'] },
    { name: 'TLS 1.2 ticket', args: ['-tls1_2'] },
    { name: 'TLS 1.2 session ID', args: ['-tls1_2', '-no_ticket'] },
  ];
  const files = variants.map((_, i) => tmp.path(`ttl${i}.sess`));
  const started = Date.now();
  for (const [i, v] of variants.entries()) {
    const r = await sc('imap-i', ['-servername', DOMAIN, ...v.args, '-sess_out', files[i]!]);
    assert.equal(sessionState(r.out), 'New', `${v.name}: first handshake\n${r.out.slice(0, 1500)}`);
  }
  for (const [i, v] of variants.entries()) {
    const r = await sc('imap-i', ['-servername', DOMAIN, ...v.args, '-sess_in', files[i]!]);
    assert.equal(sessionState(r.out), 'Reused', `${v.name}: resumed inside the TTL\n${r.out.slice(0, 1500)}`);
  }
  assert.ok(Date.now() - started < TTL_SECONDS * 1000, 'the resumptions above happened inside the TTL (the test is too slow otherwise)');
  await new Promise((r) => setTimeout(r, TTL_SECONDS * 1000 + 1000 - (Date.now() - started)));
  for (const [i, v] of variants.entries()) {
    const r = await sc('imap-i', ['-servername', DOMAIN, ...v.args, '-sess_in', files[i]!]);
    assert.equal(sessionState(r.out), 'New', `${v.name}: not resumed after the TTL\n${r.out.slice(0, 1500)}`);
  }
});

test('T2 a session from the implicit-TLS IMAP port resumes on the STARTTLS IMAP port, and the other way round', async () => {
  for (const [from, to] of [['imap-i', 'imap-s'], ['imap-s', 'imap-i']] as const) {
    for (const version of ['-tls1_3', '-tls1_2']) {
      const file = tmp.path(`x-${from}-${version}.sess`);
      const first = await sc(from, ['-servername', DOMAIN, version, '-sess_out', file], from === 'imap-s' ? { starttls: 'imap' } : {});
      assert.equal(sessionState(first.out), 'New', first.out.slice(0, 1500));
      const second = await sc(to, ['-servername', DOMAIN, version, '-sess_in', file], to === 'imap-s' ? { starttls: 'imap' } : {});
      assert.equal(sessionState(second.out), 'Reused', `${from} -> ${to} ${version}\n${second.out.slice(0, 1500)}`);
    }
  }
});

test('T6/T8 changing the main domain\'s certificate while connections are open: a relayed session and a greeted one both keep working; new connections get the new certificate', async () => {
  // A logged-in session relayed to Dovecot, and one that has only been greeted.
  const relayed = await LineClient.connectTls(st.port('imap-i'), { servername: DOMAIN, ca: pki.rootPem });
  await relayed.line();
  relayed.send(`L LOGIN alice ${PASSWORD}\r\n`);
  assert.match((await until(relayed, /^L /)).pop()!, /^L OK /);
  const greeted = await LineClient.connectTls(st.port('imap-i'), { servername: DOMAIN, ca: pki.rootPem });
  await greeted.line();
  const before = await sc('imap-i', ['-servername', DOMAIN]);
  assert.ok(sameCert(served(before.out), certs[DOMAIN]!));

  const next = await pki.issue({ name: DOMAIN, aliases: [] }, { commonName: DOMAIN, email: `hostmaster@${DOMAIN}` });
  await installCertificate(st.security, DOMAIN, next.keyPem, next.certPem, pki.intermediatePem);
  await st.server.runtime.settled();

  // Open connections: unaffected.
  relayed.send('A SELECT INBOX\r\n');
  assert.match((await until(relayed, /^A /)).pop()!, /^A OK /);
  relayed.send('B FETCH 1 BODY[]\r\n');
  const fetched = (await until(relayed, /^B /)).join('\n');
  assert.match(fetched, /tls-seed-body/);
  greeted.send(`L LOGIN alice ${PASSWORD}\r\n`);
  assert.match((await until(greeted, /^L /)).pop()!, /^L OK /);
  // New connections: the new certificate, at once, on every port.
  for (const [id, starttls] of [['imap-i', undefined], ['imap-s', 'imap'], ['smtp-s', 'smtp']] as const) {
    const after = await sc(id, ['-servername', DOMAIN, '-verify_return_error'], starttls ? { starttls } : {});
    assert.ok(sameCert(served(after.out), next.certPem), `${id}: the new certificate`);
    assert.match(after.out, /Verify return code: 0 \(ok\)/);
  }
  relayed.destroy();
  greeted.destroy();
  certs[DOMAIN] = next.certPem;
});
