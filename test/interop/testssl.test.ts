// Issue 6 proof, policy (T8 policy, T7 chain): testssl.sh (Debian testssl.sh) scans Mailward's
// real listeners - the implicit-TLS IMAP port and the SMTP submission STARTTLS port - with a domain
// certificate from a test CA and its intermediate as the chain: no protocol below TLS 1.2, no weak
// cipher category, a complete chain that verifies. Skipped only with MAILWARD_SKIP_TESTSSL=1
// (CI never sets it). The two scans run one after the other: each uses both cores for a while.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeTestPki, type TestPki } from '../../src/tls/test/pki.js';
import { assertTestsslVerdict, runTestssl, SKIP_TESTSSL_ENV } from '../../src/tls/test/testssl.js';
import { DOMAIN, installCertificate, startStack, type Stack } from './stack.js';
import { requireTool } from './tools.js';

const skip = process.env[SKIP_TESTSSL_ENV] === '1' ? `${SKIP_TESTSSL_ENV}=1` : false;

let st: Stack;
let pki: TestPki;

before(async () => {
  if (skip) return;
  requireTool('testssl', 'testssl.sh');
  requireTool('openssl', 'openssl');
  st = await startStack({
    listeners: { IMAP: [{ id: 'imap-i', TLS: 'implicit' }], SMTP: [{ id: 'smtp-s', TLS: 'starttls' }] },
    accounts: [],
  });
  pki = await makeTestPki();
  const d = await pki.issue({ name: DOMAIN, aliases: [] }, { commonName: DOMAIN, email: `postmaster@${DOMAIN}` });
  await installCertificate(st.security, DOMAIN, d.keyPem, d.certPem, pki.intermediatePem);
  await st.server.runtime.settled();
});

after(async () => {
  await st?.stop();
  pki?.remove();
});


test('T8 T7 testssl.sh on the implicit-TLS IMAP port: TLS 1.2/1.3 only, no weak cipher category, complete chain', { skip }, async () => {
  const r = await runTestssl('127.0.0.1', st.port('imap-i'), { servername: DOMAIN, caFile: pki.rootFile });
  assert.equal(r.status, 'ok', r.status === 'failed' ? r.message : '');
  if (r.status !== 'ok') return;
  assertTestsslVerdict(r.byId, r.findings);
  process.stdout.write(`testssl.sh IMAP implicit: ${r.findings.length} findings in ${r.elapsedMs} ms\n`);
});

test('T8 T7 T1 testssl.sh on the SMTP submission STARTTLS port: the same verdict after STARTTLS', { skip }, async () => {
  const r = await runTestssl('127.0.0.1', st.port('smtp-s'), { servername: DOMAIN, caFile: pki.rootFile, starttls: 'smtp' });
  assert.equal(r.status, 'ok', r.status === 'failed' ? r.message : '');
  if (r.status !== 'ok') return;
  assertTestsslVerdict(r.byId, r.findings);
  process.stdout.write(`testssl.sh SMTP STARTTLS: ${r.findings.length} findings in ${r.elapsedMs} ms\n`);
});
