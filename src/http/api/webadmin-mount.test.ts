// W3, A8: the API mounted on the real WebAdmin server (src/http/common/web-server.ts mounts it
// by default), on its HTTPA listeners: the connection facts come from those listeners, so the TLS
// listener takes Basic, the clear loopback admin listener (ClearTextLogin always) takes it too,
// and the WebAdmin's own form parser serves the /CLI/ form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { adminFixture, MAIN, OTHER, passwordOf } from '../../admin/cli/testing/fixture.js';
import { DomainSecurityService } from '../../admin/domain-security.js';
import { TlsContextResolver } from '../../tls/context.js';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { LoginHistory } from '../common/login-history.js';
import { startWebServers } from '../common/web-server.js';
import type { ListenerConfig } from '../../settings/schema.js';
import { basic } from './testing/app.js';

const L = (TLS: ListenerConfig['TLS'], ClearTextLogin: ListenerConfig['ClearTextLogin']): ListenerConfig =>
  ({ Address: '127.0.0.1', Port: 0, TLS, Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin });

function send(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({
    method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname, rejectUnauthorized: false, agent: false,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
  });
  return new Promise((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

test('W3, A8: the API on the WebAdmin listeners: TLS and the loopback clear listener take Basic; a clear tls-only one refuses it', async () => {
  const f = await adminFixture();
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate(MAIN) });
  resolver.setDomains([], MAIN);
  const web = await startWebServers({
    admin: f.admin, security: new DomainSecurityService(f.admin, f.directory), directory: f.directory, engine: f.engine,
    passwords: f.passwords, resolver, history: new LoginHistory(),
  }, { HTTPA: [L('implicit', 'tls-only'), L('clear', 'always'), L('clear', 'tls-only')], HTTPU: [] });
  try {
    const [tls, clearAlways, clearStrict] = web.addresses('HTTPA');
    const auth = { authorization: basic(`postmaster@${MAIN}`, passwordOf(`postmaster@${MAIN}`)) };
    const j = await send(`https://127.0.0.1:${tls?.port}/api/v1/ListDomains`, '{}', { ...auth, 'content-type': 'application/json' });
    assert.equal(j.status, 200, j.body);
    assert.deepEqual(JSON.parse(j.body), { ok: true, result: [OTHER, MAIN] });
    const form = await send(`https://127.0.0.1:${tls?.port}/CLI/`, new URLSearchParams({ command: 'MainDomainName' }).toString(), { ...auth, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 200, form.body);
    assert.equal(form.body, `"${MAIN}"\r\n`);
    const loop = await send(`http://127.0.0.1:${clearAlways?.port}/api/v1/MainDomainName`, '', auth);
    assert.equal(loop.status, 200, loop.body);
    const strict = await send(`http://127.0.0.1:${clearStrict?.port}/api/v1/MainDomainName`, '', auth);
    assert.equal(strict.status, 401);
    assert.equal(JSON.parse(strict.body).error.code, 'auth.tlsRequired');
  } finally {
    await web.close();
    resolver.close();
    await f.done();
  }
});
