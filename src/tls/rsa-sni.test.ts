// T8 regression: a Custom domain with an RSA key, reached by SNI on an address whose default is the
// ECDSA Test Certificate, must get its own RSA certificate (OpenSSL fixes the certificate type
// before SNICallback runs, so the first context must already be the SNI name's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsContextResolver } from './context.js';
import { makeTestCertificate } from './test-certificate.js';
import { generatePrivateKey } from './keys.js';
import { generateSelfSigned } from './certificates.js';
import { startTestServer } from './test/server.js';
import { peerSubject, requireTool, sClient } from './test/tools.js';

test('T8: SNI picks a Custom RSA domain over an ECDSA default, on TLS 1.2 and 1.3', async () => {
  requireTool('openssl', 'openssl');
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate('main.test') });
  try {
    const key = await generatePrivateKey('rsa-2048');
    const cert = await generateSelfSigned(key.pkcs8Pem, { commonName: 'rsa.test', email: 'admin@rsa.test' }, { name: 'rsa.test', aliases: [] });
    assert.equal(cert.status, 'ok');
    if (cert.status !== 'ok') return;
    resolver.setDomains([
      { name: 'main.test', mode: 'test' },
      { name: 'rsa.test', mode: 'custom', keyPem: key.pkcs8Pem, certPem: cert.pem },
    ], 'main.test');
    const server = await startTestServer(resolver);
    try {
      for (const version of ['-tls1_2', '-tls1_3']) {
        const r = await sClient(server.host, server.port, ['-servername', 'rsa.test', version]);
        assert.match(peerSubject(r.out) ?? '', /CN ?= ?rsa\.test/, `${version}: ${r.out.slice(0, 400)}`);
        const main = await sClient(server.host, server.port, ['-servername', 'main.test', version]);
        assert.match(peerSubject(main.out) ?? '', /CN ?= ?main\.test/, version);
      }
    } finally {
      await server.close();
    }
  } finally {
    resolver.close();
  }
});
