// E3, E5, W3: examples/extauth-create-account.mjs creates accounts through the running server's
// API by default: NEW for a listed name becomes POST /api/v1/CreateAccount with HTTP Basic, so
// the engine finds the account when it looks the name up again; the rights of the API user apply
// (R5); an unlisted name is never created; clear HTTP only to loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { adminFixture, MAIN, OTHER, passwordOf, type AdminFixture } from '../../admin/cli/testing/fixture.js';
import { ExternalAuthenticator } from '../../auth/sources/external/index.js';
import { AuthEngine } from '../../auth/engine.js';
import { InProcessLockout } from '../../auth/lockout.js';
import { tempDir } from '../../tls/test/tools.js';
import { registerApiRoutes } from './routes.js';
import { socketConnection } from './testing/app.js';

// dist/src/http/api/ -> the repository root is four levels up.
const SAMPLE = fileURLToPath(new URL('../../../../examples/extauth-create-account.mjs', import.meta.url));

let f: AdminFixture;
let app: FastifyInstance;
let server: string;
let tmp: ReturnType<typeof tempDir>;
const running: ExternalAuthenticator[] = [];

before(async () => {
  f = await adminFixture();
  app = Fastify();
  await registerApiRoutes(app, { admin: f.admin, engine: f.engine, connection: socketConnection('always') });
  await app.listen({ port: 0, host: '127.0.0.1' });
  server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  tmp = tempDir('extauth-api');
  writeFileSync(tmp.path('known'), `# migrated users\nnewbie@${OTHER}\nlisted@${OTHER}\nother@${MAIN}\n`);
});

after(async () => {
  await Promise.all(running.map((c) => c.stop()));
  await app.close();
  await f.done();
  tmp.remove();
});

async function sample(user: string): Promise<ExternalAuthenticator> {
  const c = new ExternalAuthenticator({
    program: process.execPath, args: [SAMPLE, tmp.path('known')], requestTimeoutMs: 10_000,
    env: { ...process.env, MAILWARD_SERVER: server, MAILWARD_USER: user, MAILWARD_PASSWORD: passwordOf(user), MAILWARD_CREATE_COMMAND: undefined },
  });
  running.push(c);
  c.start();
  const t0 = Date.now();
  while (c.status().state !== 'running') {
    if (Date.now() - t0 > 10_000) throw new Error('the sample did not answer INTF');
    await new Promise((r) => setTimeout(r, 10));
  }
  return c;
}

test('E3, E5: NEW creates a listed account through the API; the engine then finds it (Consult External Authenticator)', async () => {
  const ext = await sample(`dadmin@${OTHER}`);
  await f.directory.update({ kind: 'domain', domain: OTHER }, { ConsultExternalAuth: 'YES' });
  const engine = new AuthEngine({ directory: f.directory, lockout: new InProcessLockout(), passwords: f.passwords, external: () => ext });
  assert.equal(await f.directory.accountExists(OTHER, 'newbie'), false);
  const o = await engine.authenticate({
    login: `newbie@${OTHER}`, method: 'USER-PASS', mode: 'PWD', client: '127.0.0.1', secure: true, clearText: true,
    credential: { type: 'password', password: Buffer.from('anything at all') },
  });
  // The account exists now; it has no password of its own, so this login still fails.
  assert.equal(await f.directory.accountExists(OTHER, 'newbie'), true);
  assert.equal(o.status, 'bad-credentials');
  assert.deepEqual(await ext.newName({ name: 'listed', domain: OTHER }), { status: 'ok', detail: '' });
  assert.deepEqual(await ext.newName({ name: 'listed', domain: OTHER }), { status: 'ok', detail: '' }, 'created meanwhile is OK');
  assert.deepEqual(await ext.newName({ name: 'stranger', domain: OTHER }), { status: 'error', message: 'this account is not known', origin: 'program' });
  // R5: the domain administrator of client.test may not create accounts in the main domain.
  assert.deepEqual(await ext.newName({ name: 'other', domain: MAIN }), { status: 'error', message: 'account creation failed', origin: 'program' });
  assert.equal(await f.directory.accountExists(MAIN, 'other'), false);
});

test('E5: the sample refuses to start without the API settings, or with a clear URL to another host', () => {
  const run = (env: Record<string, string>) => spawnSync(process.execPath, [SAMPLE, tmp.path('known')], {
    input: '', encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const none = run({});
  assert.equal(none.status, 64);
  assert.match(none.stderr, /MAILWARD_SERVER, MAILWARD_USER and MAILWARD_PASSWORD/);
  const clear = run({ MAILWARD_SERVER: 'http://192.0.2.1:8010', MAILWARD_USER: 'postmaster', MAILWARD_PASSWORD: 'x' });
  assert.equal(clear.status, 64);
  assert.match(clear.stderr, /https/);
  assert.equal(run({ MAILWARD_SERVER: 'https://mail.example.com:9010', MAILWARD_USER: 'postmaster', MAILWARD_PASSWORD: 'x' }).status, 0, 'starts, and quits at the end of its input');
});
