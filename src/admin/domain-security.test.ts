// T4–T7 through the Domain Security service: one place for the rules that tie key, certificate and
// chain together, and the rights of the domain's settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailwardError } from '../core/errors.js';
import { makeMatrixFixture } from './rights-matrix.fixture.js';
import { DomainSecurityService } from './domain-security.js';

const ATTRS = { commonName: 'corp.test', email: 'admin@corp.test', organization: 'Corp' };

test('T5, T6: key, self-signed certificate, CSR; a new key or removing the key removes the certificate', async () => {
  const f = await makeMatrixFixture();
  try {
    const sec = new DomainSecurityService(f.admin, f.directory);
    const da = await f.actor('DomainAdmin');
    assert.equal((await sec.view(da, 'corp.test')).key, null);
    const k = await sec.generateKey(da, 'corp.test', 'ecdsa-p256');
    assert.equal(k.status, 'ok');
    assert.equal((await sec.keyTest(da, 'corp.test')).ok, true);
    const c = await sec.selfSigned(da, 'corp.test', ATTRS);
    assert.equal(c.status, 'ok');
    assert.equal((await sec.setMode(da, 'corp.test', 'Custom')).status, 'ok');
    const v = await sec.view(da, 'corp.test');
    assert.equal(v.mode, 'Custom');
    assert.ok(v.certificate);
    const csr = await sec.signingRequest(da, 'corp.test', ATTRS);
    assert.ok(csr.status === 'ok' && csr.csr.includes('BEGIN CERTIFICATE REQUEST'));
    const bad = await sec.selfSigned(da, 'corp.test', { commonName: 'evil.test', email: 'x@y.test' });
    assert.equal(bad.status, 'refused', 'the Common Name must be the domain or an alias');
    // A certificate for another key is refused (T6).
    const otherCert = (await f.directory.domainSettings('corp.test')).values.Certificate;
    await sec.generateKey(da, 'corp.test', 'ecdsa-p256');
    const after = await sec.view(da, 'corp.test');
    assert.equal(after.certificate, null, 'a new key drops the old key\'s certificate');
    assert.equal(after.mode, 'Test', 'Custom without a certificate falls back to Test');
    assert.equal((await sec.setCertificate(da, 'corp.test', otherCert)).status, 'refused');
    await sec.selfSigned(da, 'corp.test', ATTRS);
    await sec.removeKey(da, 'corp.test');
    const gone = await sec.view(da, 'corp.test');
    assert.equal(gone.key, null);
    assert.equal(gone.certificate, null, 'T5: removing the key removes the certificate');
    assert.equal((await f.directory.domainSettings('corp.test')).values.PrivateKey, '');
  } finally { await f.close(); }
});

test('Domain Security follows the domain\'s rights: another domain\'s admin cannot see or change it', async () => {
  const f = await makeMatrixFixture();
  try {
    const sec = new DomainSecurityService(f.admin, f.directory);
    const da = await f.actor('DomainAdmin');
    const mon = await f.actor('Monitor');
    await assert.rejects(sec.generateKey(da, 'example.com', 'ecdsa-p256'), (e) => isMailwardError(e, 'directory.notFound'));
    await assert.rejects(sec.view(da, 'example.com'), (e) => isMailwardError(e, 'directory.notFound'));
    await assert.rejects(sec.generateKey(mon, 'corp.test', 'ecdsa-p256'), (e) => isMailwardError(e, 'directory.refused'));
    assert.equal((await sec.view(mon, 'corp.test')).domain, 'corp.test');
    const shown = JSON.stringify(await f.admin.getDomainEffectiveSettings(await f.actor('Master'), 'corp.test'));
    assert.ok(!shown.includes('PRIVATE KEY'));
  } finally { await f.close(); }
});
