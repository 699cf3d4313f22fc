// W3, A5, A8: the API on real sockets (port 0) with curl as the client: HTTPS with the test
// certificate and HTTP Basic, the JSON form and the /CLI/ form, the challenge when no password is
// given, and Basic refused on a clear listener unless it is the loopback admin one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { requireTool, run, tempDir } from '../../tls/test/tools.js';
import { adminFixture, MAIN, OTHER, passwordOf, type AdminFixture } from '../../admin/cli/testing/fixture.js';
import { registerApiRoutes } from './routes.js';
import { socketConnection } from './testing/app.js';
import type { ApiConnection } from './auth.js';

const PM = `postmaster@${MAIN}`;
let f: AdminFixture;
let tmp: ReturnType<typeof tempDir>;
const apps: FastifyInstance[] = [];

before(async () => {
  requireTool('curl', 'curl');
  f = await adminFixture();
  tmp = tempDir('api');
});

after(async () => {
  for (const a of apps) await a.close();
  await f.done();
  tmp.remove();
});

async function serve(opts: { tls: boolean; clearTextLogin: ApiConnection['clearTextLogin'] }): Promise<number> {
  const cert = opts.tls ? await makeTestCertificate(MAIN) : null;
  if (cert) writeFileSync(tmp.path('ca.pem'), cert.chainPem);
  const app = cert ? Fastify({ https: { key: cert.keyPem, cert: cert.certPem } }) : Fastify();
  await registerApiRoutes(app, { admin: f.admin, engine: f.engine, connection: socketConnection(opts.clearTextLogin) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  apps.push(app);
  return (app.server.address() as AddressInfo).port;
}

/** curl, with the password given through a config file on stdin (never on its command line). */
async function curl(url: string, args: string[], user?: string): Promise<{ status: number; headers: string; body: string }> {
  const input = user === undefined ? '' : `user = "${user}:${passwordOf(user)}"\n`;
  const r = await run('curl', ['-sS', '-K', '-', '-D', '-', ...args, url], { input, timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.out);
  const split = r.stdout.indexOf('\r\n\r\n');
  const headers = r.stdout.slice(0, split);
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]), headers, body: r.stdout.slice(split + 4) };
}

test('W3, A5: HTTPS + Basic with curl: the JSON form, the /CLI/ form, and a challenge without credentials', async () => {
  const port = await serve({ tls: true, clearTextLogin: 'tls-only' });
  const base = `https://${MAIN}:${port}`;
  const tlsArgs = ['--cacert', tmp.path('ca.pem'), '--resolve', `${MAIN}:${port}:127.0.0.1`];
  const j = await curl(`${base}/api/v1/ListDomains`, [...tlsArgs, '-H', 'Content-Type: application/json', '--data', '{}'], PM);
  assert.equal(j.status, 200, j.body);
  assert.deepEqual(JSON.parse(j.body), { ok: true, result: [OTHER, MAIN] });
  const c = await curl(`${base}/CLI/`, [...tlsArgs, '--data-urlencode', `command=CreateAccount "viacurl@${OTHER}" {RealName="Via Curl";}`], PM);
  assert.equal(c.status, 200, c.body);
  const g = await curl(`${base}/CLI/`, [...tlsArgs, '-G', '--data-urlencode', `command=GetAccountSettings viacurl@${OTHER}`], PM);
  assert.equal(g.body, '{RealName="Via Curl";}\r\n');
  const none = await curl(`${base}/api/v1/ListDomains`, [...tlsArgs, '-X', 'POST']);
  assert.equal(none.status, 401);
  assert.match(none.headers, /^www-authenticate: Basic realm="Mailward API", charset="UTF-8"$/im);
  const doc = await curl(`${base}/api/v1/openapi.json`, tlsArgs);
  assert.equal(JSON.parse(doc.body).openapi, '3.1.0');
});

test('A8: Basic on a clear listener: refused on a tls-only one, accepted on the loopback admin one (ClearTextLogin always)', async () => {
  const strict = await serve({ tls: false, clearTextLogin: 'tls-only' });
  const r = await curl(`http://127.0.0.1:${strict}/api/v1/MainDomainName`, ['-X', 'POST'], PM);
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).error.code, 'auth.tlsRequired');
  assert.doesNotMatch(r.headers, /www-authenticate/i);
  const loopback = await serve({ tls: false, clearTextLogin: 'always' });
  const ok = await curl(`http://127.0.0.1:${loopback}/api/v1/MainDomainName`, ['-X', 'POST'], PM);
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(JSON.parse(ok.body), { ok: true, result: MAIN });
});
