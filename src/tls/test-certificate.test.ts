// T3: the Test Certificate made at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { makeTestCertificate, TEST_CERTIFICATE_VALIDITY_DAYS } from './test-certificate.js';
import { describeCertificatePem } from './certificates.js';
import { checkChain } from './chain.js';
import { keyTest } from './keys.js';
import { openssl, requireTool, tempDir } from './test/tools.js';

test('T3: subject = main domain, issuer "Mailward test", valid 30 days from start, issued by a throwaway CA', async () => {
  requireTool('openssl', 'openssl');
  const start = new Date('2030-05-01T12:00:00.250Z');
  const t = await makeTestCertificate('main.example.test', start);
  const d = describeCertificatePem(t.certPem);
  assert.ok(d);
  assert.deepEqual(d.issuedTo.map((a) => `${a.label}:${a.value}`), ['Common Name:main.example.test']);
  assert.deepEqual(d.issuedBy.map((a) => `${a.label}:${a.value}`), ['Common Name:Mailward test']);
  assert.equal(d.validTill.getTime(), Date.parse('2030-05-01T12:00:00Z') + TEST_CERTIFICATE_VALIDITY_DAYS * 86_400_000);
  assert.ok(d.validFrom.getTime() <= start.getTime());
  assert.deepEqual(d.dnsNames, ['main.example.test']);
  assert.equal(d.publicKey, 'ECDSA P-256');
  assert.equal(d.selfIssued, false);
  assert.deepEqual((await keyTest(t.keyPem)).text, 'Verification String is OK');
  // The CA certificate sent as the chain certifies it (our check and OpenSSL's).
  const c = checkChain(t.chainPem, { certificatePem: t.certPem, now: new Date('2030-05-02T00:00:00Z') });
  assert.deepEqual(c.status === 'ok' && c.warnings, []);
  const dir = tempDir('testcert');
  try {
    writeFileSync(dir.path('ca.pem'), t.chainPem);
    writeFileSync(dir.path('leaf.pem'), t.certPem);
    const v = await openssl(['verify', '-attime', String(Date.parse('2030-05-02T00:00:00Z') / 1000), '-CAfile', dir.path('ca.pem'), '-purpose', 'sslserver', dir.path('leaf.pem')]);
    assert.equal(v.code, 0, v.out);
  } finally { dir.remove(); }
  // Each start makes a new key: two test certificates never share one.
  const again = await makeTestCertificate('main.example.test', start);
  assert.notEqual(again.keyPem, t.keyPem);
});
