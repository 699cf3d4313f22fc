// T9: a domain's certificate for download, PEM and DER, with the right content types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { certificateDownload } from './download.js';
import { makeTestCertificate } from './test-certificate.js';
import { openssl, requireTool, tempDir } from './test/tools.js';

test('T9: DER and PEM downloads of the domain certificate; none for mode No or a missing certificate', async () => {
  requireTool('openssl', 'openssl');
  const t = await makeTestCertificate('main.test');
  const der = certificateDownload({ name: 'Main.Test', mode: 'test' }, 'der', t);
  const pem = certificateDownload({ name: 'main.test', mode: 'custom', certPem: t.certPem, chainPem: t.chainPem }, 'pem');
  assert.ok(der && pem);
  assert.equal(der.contentType, 'application/x-x509-ca-cert');
  assert.equal(der.filename, 'main.test.crt');
  assert.equal(pem.contentType, 'application/pem-certificate-chain');
  assert.equal(pem.filename, 'main.test.pem');
  assert.equal((pem.body.toString().match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'PEM carries the chain');
  const dir = tempDir('download');
  try {
    writeFileSync(dir.path('c.der'), der.body);
    const r = await openssl(['x509', '-inform', 'DER', '-in', dir.path('c.der'), '-noout', '-subject']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.stdout, /CN ?= ?main\.test/);
  } finally { dir.remove(); }
  assert.equal(certificateDownload({ name: 'x.test', mode: 'no', certPem: t.certPem }, 'pem', t), null);
  assert.equal(certificateDownload({ name: 'x.test', mode: 'custom' }, 'der'), null);
  assert.equal(certificateDownload({ name: '../../x', mode: 'test' }, 'der', t)?.filename, '_.._x.crt', 'no path characters in a file name');
});
