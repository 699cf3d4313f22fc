// T8 policy, checked by an independent scanner: testssl.sh finds no protocol below TLS 1.2, no
// weak cipher and a complete chain. Skipped only when MAILWARD_SKIP_TESTSSL=1 (CI never sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsContextResolver } from '../context.js';
import { makeTestCertificate } from '../test-certificate.js';
import { makeTestPki } from './pki.js';
import { startTestServer } from './server.js';
import { requireTool } from './tools.js';
import { assertTestsslVerdict, runTestssl, SKIP_TESTSSL_ENV } from './testssl.js';

test('T8 policy: testssl.sh JSON verdict - TLS 1.2/1.3 only, no weak cipher category, chain of trust OK', { skip: process.env[SKIP_TESTSSL_ENV] === '1' ? `${SKIP_TESTSSL_ENV}=1` : false }, async () => {
  requireTool('testssl', 'testssl.sh');
  requireTool('openssl', 'openssl');
  const pki = await makeTestPki();
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate('main.test') });
  try {
    const d = await pki.issue({ name: 'scan.test', aliases: [] }, { commonName: 'scan.test', email: 'pm@scan.test' });
    resolver.setDomains([{ name: 'scan.test', mode: 'custom', keyPem: d.keyPem, certPem: d.certPem, chainPem: pki.intermediatePem }], 'scan.test');
    const server = await startTestServer(resolver, { closeAfterMs: 50 });
    try {
      const r = await runTestssl(server.host, server.port, { servername: 'scan.test', caFile: pki.rootFile });
      assert.equal(r.status, 'ok', r.status === 'failed' ? r.message : '');
      if (r.status !== 'ok') return;
      assertTestsslVerdict(r.byId, r.findings);
      console.log(`testssl.sh: ${r.findings.length} findings in ${r.elapsedMs} ms`);
    } finally { await server.close(); }
  } finally {
    resolver.close();
    pki.remove();
  }
});
