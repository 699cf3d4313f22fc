// W3, A4, A8, T1: the PWD session behind the real listener (protocols/common) on sockets, port 0:
// an implicit-TLS listener taking APOP, INLINE and data-follow replies as CGP::CLI reads them, and
// a clear listener where clear-text USER is refused (tls-only) while APOP still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TlsContextResolver } from '../../tls/context.js';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { ListenerSet } from '../common/listener.js';
import { LineClient } from '../common/test-support.js';
import type { ListenerConfig } from '../../settings/schema.js';
import { adminFixture, MAIN, OTHER, passwordOf, type AdminFixture } from '../../admin/cli/testing/fixture.js';
import { pwdDeps } from './testing/transcript.js';
import { pwdSessionFactory } from './session.js';

const PM = `postmaster@${MAIN}`;
let f: AdminFixture;
let resolver: TlsContextResolver;
let set: ListenerSet;

const cfg = (extra: Partial<ListenerConfig>): ListenerConfig =>
  ({ Address: '127.0.0.1', Port: 0, TLS: 'implicit', Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin: 'tls-only', ...extra });

before(async () => {
  f = await adminFixture();
  resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate(MAIN) });
  resolver.setDomains([], MAIN);
  set = new ListenerSet({ service: 'PWD', tls: resolver, sessionFactory: pwdSessionFactory(pwdDeps(f)) });
  assert.deepEqual(await set.update([cfg({ TLS: 'implicit' }), cfg({ TLS: 'clear' }), cfg({ TLS: 'starttls' })]), []);
});

after(async () => {
  await set.close({ connections: 'destroy' });
  resolver.close();
  await f.done();
});

const port = (tls: 'implicit' | 'clear' | 'starttls'): number => {
  const b = set.bound().find((x) => x.config.TLS === tls);
  assert.ok(b);
  return b.port;
};

test('W3, A4: over implicit TLS: greeting with timestamp, APOP, bare INLINE, 201 data, data-follow lines, QUIT closes', async () => {
  const c = await LineClient.connectTls(port('implicit'));
  try {
    const greeting = await c.line();
    const ts = /(<[^>]+>)$/.exec(greeting)?.[1];
    assert.ok(ts, greeting);
    assert.equal(await c.ask(`APOP ${PM} ${createHash('md5').update(ts + passwordOf(PM)).digest('hex')}`), '200 login OK, proceed');
    assert.equal(await c.ask('GetDomainAliases'), '200 data follow');
    assert.equal(await c.line(), '()');
    assert.equal(await c.ask('INLINE'), '200 OK');
    assert.equal(await c.ask('ListDomains'), `201 ("${OTHER}","${MAIN}")`);
    // Several commands in one write are answered in order.
    c.send('MainDomainName\r\nGetAccountRights postmaster\r\n');
    assert.equal(await c.line(), `201 "${MAIN}"`);
    assert.equal(await c.line(), '201 (Master)');
    assert.equal(await c.ask('QUIT'), '200 Mailward PWD connection closed');
    await c.waitClosed();
  } finally { c.destroy(); }
});

test('A8: on a clear listener clear-text USER is refused; APOP logs in; USER/PASS works over TLS', async () => {
  const c = await LineClient.connect(port('clear'));
  try {
    const ts = /(<[^>]+>)$/.exec(await c.line())?.[1] ?? '';
    assert.match(await c.ask(`USER ${PM}`), /^500 clear-text passwords are not accepted/);
    assert.equal(await c.ask(`APOP ${PM} ${createHash('md5').update(ts + passwordOf(PM)).digest('hex')}`), '200 login OK, proceed');
  } finally { c.destroy(); }
  const t = await LineClient.connectTls(port('implicit'));
  try {
    await t.line();
    assert.equal(await t.ask(`USER ${PM}`), '300 please send the PASS');
    assert.equal(await t.ask(`PASS ${passwordOf(PM)}`), '200 login OK, proceed');
  } finally { t.destroy(); }
});

test('T1: STLS upgrades the clear port; what was pipelined after it is discarded; USER/PASS then works', async () => {
  const c = await LineClient.connect(port('starttls'));
  try {
    await c.line();
    assert.match(await c.ask(`USER ${PM}`), /^500 clear-text passwords are not accepted before TLS: use STLS/);
    c.send('STLS\r\nQUIT\r\n');
    assert.equal(await c.line(), '200 begin TLS negotiation');
    await c.upgrade();
    assert.equal(await c.ask(`USER ${PM}`), '300 please send the PASS', 'the pipelined QUIT was not executed');
    assert.equal(await c.ask(`PASS ${passwordOf(PM)}`), '200 login OK, proceed');
    assert.match(await c.ask('STLS'), /^500 already logged in|^500 unknown command/);
  } finally { c.destroy(); }
  const clear = await LineClient.connect(port('clear'));
  try {
    await clear.line();
    assert.equal(await clear.ask('STLS'), '500 TLS is not available on this connection', 'no STLS on a listener without STARTTLS');
  } finally { clear.destroy(); }
});
