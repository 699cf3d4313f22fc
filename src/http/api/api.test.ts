// W3, A5, A8, H1, H2, N2, R5: the API over HTTP (fastify inject): Basic required, Basic over a
// clear link refused except on the loopback admin listener, the JSON form of the commands with
// its statuses and stable error codes, CommuniGate's HTTP /CLI/ form, a login flood hitting the
// lock-out, client addresses, and the OpenAPI document. api.socket.test.ts does it over sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dict } from '../../settings/format/types.js';
import { adminFixture, MAIN, OTHER, passwordOf } from '../../admin/cli/testing/fixture.js';
import { COMMANDS } from '../../admin/cli/commands.js';
import { apiApp, basic, TLS_CONN } from './testing/app.js';
import type { ApiConnection } from './auth.js';
import { API_MAX_BODY_BYTES } from './routes.js';

const PM = `postmaster@${MAIN}`;
const asPM = { authorization: basic(PM, passwordOf(PM)) };
const json = { 'content-type': 'application/json' };

test('A5, W3: every API request needs HTTP Basic; bad credentials are 401 with stable codes', async () => {
  const f = await adminFixture();
  const app = await apiApp(f);
  try {
    const rows: [Record<string, string>, number, string, boolean][] = [
      [{}, 401, 'auth.required', true],
      [{ authorization: 'Bearer abc' }, 401, 'auth.required', true],
      [{ authorization: 'Basic !!!' }, 401, 'auth.required', true],
      [{ authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }, 401, 'auth.required', true],
      [{ authorization: basic(PM, 'wrong') }, 401, 'auth.failed', true],
      [{ authorization: basic('ghost@example.com', 'whatever') }, 401, 'auth.failed', true],
    ];
    for (const [headers, status, code, challenge] of rows) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/ListDomains', headers: { ...headers, ...json }, payload: '{}' });
      assert.equal(r.statusCode, status, JSON.stringify(headers));
      assert.equal(r.json().error.code, code);
      assert.equal(r.headers['www-authenticate'] !== undefined, challenge);
      assert.equal(r.headers['cache-control'], 'no-store');
    }
    const ok = await app.inject({ method: 'POST', url: '/api/v1/ListDomains', headers: asPM });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { ok: true, result: [OTHER, MAIN] });
  } finally { await app.close(); await f.done(); }
});

test('A8: Basic over a clear connection is refused (no challenge) unless it is the loopback admin listener', async () => {
  const f = await adminFixture();
  const conn = { current: TLS_CONN };
  const app = await apiApp(f, conn);
  try {
    const rows: [ApiConnection, number][] = [
      [{ client: '192.0.2.10', local: '192.0.2.1', secure: false, clearTextLogin: 'tls-only' }, 401],
      [{ client: '192.0.2.10', local: '192.0.2.1', secure: false, clearTextLogin: 'always' }, 401],
      [{ client: '127.0.0.1', local: '127.0.0.1', secure: false, clearTextLogin: 'tls-only' }, 401],
      [{ client: '192.0.2.10', local: '127.0.0.1', secure: false, clearTextLogin: 'always' }, 401],
      [{ client: '127.0.0.1', local: '127.0.0.1', secure: false, clearTextLogin: 'always' }, 200],
      [{ client: '::1', local: '::1', secure: false, clearTextLogin: 'always' }, 200],
      [{ client: '192.0.2.10', local: '192.0.2.1', secure: true, clearTextLogin: 'tls-only' }, 200],
    ];
    for (const [c, status] of rows) {
      conn.current = c;
      for (const url of ['/api/v1/MainDomainName', '/CLI/']) {
        const r = await app.inject({ method: 'POST', url, headers: { ...asPM, 'content-type': 'text/plain' }, payload: 'MainDomainName' });
        if (url === '/CLI/') assert.equal(r.statusCode, status, `${url} ${JSON.stringify(c)}`);
        else {
          const j = await app.inject({ method: 'POST', url, headers: asPM });
          assert.equal(j.statusCode, status, `${url} ${JSON.stringify(c)}`);
          if (status === 401) {
            assert.equal(j.json().error.code, 'auth.tlsRequired');
            assert.equal(j.headers['www-authenticate'], undefined, 'no challenge that would make a browser send a password in clear');
          }
        }
      }
    }
  } finally { await app.close(); await f.done(); }
});

test('W3: the JSON form: results, effective settings with sources, checks, and the error statuses', async () => {
  const f = await adminFixture();
  const app = await apiApp(f);
  const call = async (command: string, body: unknown, who = PM, headers: Record<string, string> = json) => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/${command}`, headers: { authorization: basic(who, passwordOf(who)), ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.statusCode, body: r.json() as { ok: boolean; result?: unknown; error?: { code: string; message: string } } };
  };
  try {
    assert.deepEqual(await call('CreateDomain', { domain: 'client1.com', settings: { DomainAliases: ['mail.client1.com'] } }), { status: 200, body: { ok: true } });
    assert.deepEqual(await call('CreateAccount', { account: 'user1@client1.com', settings: { RealName: 'User One', RequireSecureMethod: true }, password: 'correct horse' }), { status: 200, body: { ok: true } });
    assert.deepEqual((await call('GetAccountSettings', { account: 'user1@client1.com' })).body.result, { RealName: 'User One', RequireSecureMethod: 'YES', Password: '(set)' });
    const eff = (await call('GetAccountEffectiveSettings', { account: 'user1@client1.com' })).body.result as { values: Record<string, unknown>; sources: Record<string, string> };
    assert.equal(eff.values.RealName, 'User One');
    assert.equal(eff.sources.RealName, 'account');
    assert.equal(eff.sources.PasswordEncryption, 'server');
    assert.equal(eff.sources.UseSysPassword, 'default');
    assert.equal(eff.values.Password, '(set)');
    assert.deepEqual((await call('VerifyAccountPassword', { account: 'user1@client1.com', password: 'correct horse' })).body, { ok: true, result: true });
    assert.deepEqual((await call('VerifyAccountPassword', { account: 'user1@client1.com', password: 'wrong horse' })).body, { ok: true, result: false });
    assert.deepEqual((await call('ListAccounts', { domain: 'client1.com' })).body, { ok: true, result: ['user1'] });
    assert.deepEqual((await call('GetAccountRights', { account: PM })).body, { ok: true, result: ['Master'] });
    assert.deepEqual((await call('SetAccountRights', { account: `user@${OTHER}`, rights: ['DomainAdmin'] })).status, 200);
    assert.deepEqual((await call('GetClientIPs', {})).body, { ok: true, result: ['127.0.0.0/8', '::1'] });
    assert.deepEqual((await call('GetAccountLockout', { account: 'user1@client1.com' })).body, { ok: true, result: { failures: 0, lockedUntil: null } });
    assert.deepEqual((await call('GetModule', { module: 'Protection' })).body, { ok: true, result: { ClientIPAddresses: ['127.0.0.0/8', '::1'], RejectNonClientLogins: 'NO' } });
    assert.equal((await call('DeleteDomain', { domain: 'client1.com', force: true })).status, 200);

    const errors: [string, unknown, number, string, string?][] = [
      ['NoSuchCommand', {}, 404, 'api.unknownCommand'],
      ['Get-Stuff', {}, 404, 'api.unknownCommand'],
      ['CreateDomain', { domain: MAIN }, 409, 'directory.exists'],
      ['CreateDomain', { domain: 'bad_name!' }, 400, 'name.invalid'],
      ['CreateDomain', {}, 400, 'cli.usage'],
      ['CreateDomain', { domain: 'x.test', nonsense: 1 }, 400, 'cli.usage'],
      ['CreateDomain', { domain: true }, 400, 'cli.usage'],
      ['CreateDomain', { domain: 'x.test', settings: { NoSuch: 1 } }, 400, 'settings.invalid'],
      ['CreateDomain', { domain: 'x.test', settings: { DomainAliases: [1.5] } }, 400, 'cli.usage'],
      ['GetAccountSettings', { account: `nobody@${MAIN}` }, 404, 'directory.notFound'],
      ['DeleteAccount', { account: PM }, 403, 'directory.refused'],
      ['CreateDomain', { domain: 'y.test' }, 403, 'directory.refused', `monitor@${MAIN}`],
      ['GetDomainSettings', { domain: MAIN }, 404, 'directory.notFound', `dadmin@${OTHER}`],
      ['GetDomainSettings', { domain: 'nosuch.test' }, 404, 'directory.notFound', `dadmin@${OTHER}`],
      ['ListDomains', '{not json', 400, 'api.badRequest'],
      ['ListDomains', '[1,2]', 400, 'api.badRequest'],
      ['ListDomains', '{"__proto__": {"x": 1}}', 400, 'api.badRequest'],
    ];
    for (const [command, body, status, code, who] of errors) {
      const r = await call(command, body, who ?? PM);
      assert.equal(r.status, status, `${command} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.ok, false);
      assert.equal(r.body.error?.code, code, `${command} ${JSON.stringify(body)}`);
    }
    // Unknown and forbidden read the same for a delegated domain administrator (R5).
    const known = await call('GetDomainSettings', { domain: MAIN }, `dadmin@${OTHER}`);
    const unknown = await call('GetDomainSettings', { domain: 'nosuch.test' }, `dadmin@${OTHER}`);
    assert.equal(known.body.error?.message.replace(MAIN, 'D'), unknown.body.error?.message.replace('nosuch.test', 'D'));
    const text = await app.inject({ method: 'POST', url: '/api/v1/ListDomains', headers: { ...asPM, 'content-type': 'text/plain' }, payload: 'x' });
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().error.code, 'api.unsupportedMediaType');
    const big = await app.inject({ method: 'POST', url: '/api/v1/CreateDomain', headers: { ...asPM, ...json }, payload: JSON.stringify({ domain: 'x'.repeat(API_MAX_BODY_BYTES) }) });
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'api.tooLarge');
  } finally { await app.close(); await f.done(); }
});

test("W3: CommuniGate's HTTP CLI at /CLI/: form field, text body, GET only for commands without secrets, codes", async () => {
  const f = await adminFixture();
  const app = await apiApp(f);
  const cli = async (payload: string, type = 'application/x-www-form-urlencoded') =>
    app.inject({ method: 'POST', url: '/CLI/', headers: { ...asPM, 'content-type': type }, payload });
  try {
    const form = await cli(new URLSearchParams({ command: 'ListDomains' }).toString());
    assert.equal(form.statusCode, 200);
    assert.equal(form.body, `("${OTHER}","${MAIN}")\r\n`);
    assert.equal(form.headers['x-cli-code'], '200');
    assert.match(String(form.headers['content-type']), /^text\/plain/);
    assert.equal((await cli('CreateAccount "u9" {Password="nine nine nine";}', 'text/plain')).statusCode, 200);
    assert.equal((await cli(new URLSearchParams({ command: 'VerifyAccountPassword u9 PASSWORD "nine nine nine"' }).toString())).statusCode, 200);
    const mismatch = await cli(new URLSearchParams({ command: 'VerifyAccountPassword u9 PASSWORD "ten"' }).toString());
    assert.equal(mismatch.statusCode, 422);
    assert.equal(mismatch.body, 'the password does not match\r\n');
    const get = await app.inject({ method: 'GET', url: `/CLI/?${new URLSearchParams({ command: 'GetAccountSettings u9' })}`, headers: asPM });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, '{Password="(set)";}\r\n');
    const secretInUrl = await app.inject({ method: 'GET', url: `/CLI/?${new URLSearchParams({ command: 'SetAccountPassword u9 PASSWORD "in the url"' })}`, headers: asPM });
    assert.equal(secretInUrl.statusCode, 405);
    assert.equal(secretInUrl.headers.allow, 'POST');
    const rows: [string, number, string][] = [
      ['NoSuch', 404, '500'],
      ['CreateAccount {', 400, '500'],
      ['CreateAccount', 400, '501'],
      ['CreateAccount u9', 409, '501'],
      [`GetAccountSettings nobody@${MAIN}`, 404, '501'],
    ];
    for (const [command, status, code] of rows) {
      const r = await cli(new URLSearchParams({ command }).toString());
      assert.equal(r.statusCode, status, command);
      assert.equal(r.headers['x-cli-code'], code, command);
      assert.match(r.body, /^[^\r\n]+\r\n$/);
    }
    assert.equal((await cli('')).statusCode, 400, 'no command');
  } finally { await app.close(); await f.done(); }
});

test('H1, H2: a login flood through the API hits the lock-out; the right password is then refused alike; an admin unlocks', async () => {
  const f = await adminFixture();
  const app = await apiApp(f);
  const victim = `plain@${MAIN}`;
  const asVictim = (pw: string) => app.inject({ method: 'POST', url: '/api/v1/MainDomainName', headers: { authorization: basic(victim, pw) } });
  try {
    assert.equal((await asVictim(passwordOf(victim))).statusCode, 200);
    for (let i = 0; i < 20; i++) {
      const r = await asVictim(`guess-${i}`);
      assert.equal(r.statusCode, 401);
      assert.equal(r.json().error.code, 'auth.failed');
    }
    const refused = await asVictim(passwordOf(victim));
    assert.equal(refused.statusCode, 401, 'H2: locked out');
    assert.equal(refused.json().error.code, 'auth.failed', 'H1: a locked account reads like a wrong password');
    const st = await app.inject({ method: 'POST', url: '/api/v1/GetAccountLockout', headers: { ...asPM, ...json }, payload: JSON.stringify({ account: victim }) });
    assert.equal(st.json().result.lockedUntil, new Date(f.clock.t + 60_000).toISOString());
    const un = await app.inject({ method: 'POST', url: '/api/v1/UnlockAccount', headers: { ...asPM, ...json }, payload: JSON.stringify({ account: victim }) });
    assert.equal(un.statusCode, 200);
    assert.equal((await asVictim(passwordOf(victim))).statusCode, 200);
  } finally { await app.close(); await f.done(); }
});

test('N2: an API login from a non-client address is refused and the connection closed', async () => {
  const f = await adminFixture(dict({ RejectNonClientLogins: 'YES', ClientIPAddresses: ['10.0.0.0/8'] }));
  const conn = { current: TLS_CONN };
  const app = await apiApp(f, conn);
  try {
    const r = await app.inject({ method: 'POST', url: '/api/v1/MainDomainName', headers: asPM });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().error.code, 'auth.notClientAddress');
    assert.equal(r.headers.connection, 'close');
    conn.current = { ...TLS_CONN, client: '10.9.8.7' };
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/MainDomainName', headers: asPM })).statusCode, 200);
  } finally { await app.close(); await f.done(); }
});

test('W3: the OpenAPI 3.1 document is served without a password and describes every command', async () => {
  const f = await adminFixture();
  const app = await apiApp(f);
  try {
    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    assert.equal(r.statusCode, 200);
    const doc = r.json() as { openapi: string; paths: Record<string, { post?: { operationId: string; requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }> };
    assert.equal(doc.openapi, '3.1.0');
    for (const c of COMMANDS) {
      const op = doc.paths[`/api/v1/${c.name}`]?.post;
      assert.ok(op, c.name);
      assert.equal(op.operationId, c.name);
      assert.deepEqual(Object.keys(op.requestBody.content['application/json']?.schema.properties ?? {}), c.params.map((p) => p.name));
    }
  } finally { await app.close(); await f.done(); }
});
