// SMTP AUTH with the real authentication engine and directory (file store): A7 Secure Method
// Required seen on the wire, N2 non-client addresses refused and disconnected, secure mechanisms
// over a clear link, and the connector reached only after a good login. A1, A2, A7, N2, B2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthEngine } from '../../auth/engine.js';
import { InProcessLockout } from '../../auth/lockout.js';
import { PasswordService } from '../../auth/password-service.js';
import { Directory } from '../../directory/directory.js';
import { openFileStore } from '../../settings/backends/files/index.js';
import { dict } from '../../settings/format/types.js';
import { b64, cramResponse, FakeConnector, info, newSession, run } from './test/harness.js';
import type { SmtpDeps } from './session.js';

let dir: string;
let closeStore: () => Promise<void>;
let smtpDeps: SmtpDeps;
const connector = new FakeConnector(async () => ({ status: 'no-backend' }));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mw-smtp-engine-'));
  const store = await openFileStore(join(dir, 'data'));
  closeStore = () => store.close();
  await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com', HideUnknownAccounts: 'NO', LoginFailureDelay: '0s', RejectNonClientLogins: 'YES', ClientIPAddresses: ['192.0.2.0/24'] }));
  const d = new Directory(store);
  await d.createDomain('example.com');
  const passwords = new PasswordService(d);
  await d.createAccount('example.com', 'alice', dict({ PasswordEncryption: 'clear' }));
  await passwords.setPassword('example.com', 'alice', 'alice-pass');
  await d.createAccount('example.com', 'secure', dict({ PasswordEncryption: 'clear', RequireSecureMethod: 'YES' }));
  await passwords.setPassword('example.com', 'secure', 'secure-pass');
  const engine = new AuthEngine({ directory: d, lockout: new InProcessLockout(), passwords });
  smtpDeps = { engine, serverSettings: async () => (await d.serverSettings()).values, backends: connector, hostname: async () => 'mx.example.com' };
});
after(async () => {
  await closeStore();
  await rm(dir, { recursive: true, force: true });
});

test('A1 B2 real engine: AUTH PLAIN over TLS reaches the connector; no backend gives 454 4.7.0', async () => {
  const t = await run(newSession(smtpDeps, info({ secure: true, startTlsAvailable: false })), ['EHLO c', `AUTH PLAIN ${b64('\0alice@example.com\0alice-pass')}`]);
  assert.match(t.replies.at(-1) ?? '', /^454 4\.7\.0 No mail server is configured/);
  assert.equal(connector.requests.at(-1)?.login.account, 'alice');
  const bad = await run(newSession(smtpDeps, info({ secure: true })), ['EHLO c', `AUTH PLAIN ${b64('\0alice\0nope')}`, `AUTH PLAIN ${b64('\0ghost\0x')}`]);
  assert.deepEqual(bad.replies.slice(-2).map((r) => r.slice(0, 9)), ['535 5.7.8', '535 5.7.8']);
});

test('A7 real engine: Secure Method Required refuses PLAIN on a clear link (538 5.7.11), accepts CRAM-MD5 there and PLAIN over TLS', async () => {
  const clear = info({ clearTextLogin: 'always' });
  const t = await run(newSession(smtpDeps, clear), ['EHLO c', `AUTH PLAIN ${b64('\0secure\0secure-pass')}`]);
  assert.match(t.replies.at(-1) ?? '', /^538 5\.7\.11 /);
  const s = newSession(smtpDeps, clear);
  const c = await run(s, ['EHLO c', 'AUTH CRAM-MD5']);
  const r = await s.onLine(Buffer.from(cramResponse('secure', 'secure-pass', (c.replies.at(-1) ?? '').slice(4))));
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^454 4\.7\.0 No mail server/, 'authenticated, then B2');
  const tls = await run(newSession(smtpDeps, info({ secure: true })), ['EHLO c', `AUTH PLAIN ${b64('\0secure\0secure-pass')}`]);
  assert.match(tls.replies.at(-1) ?? '', /^454 4\.7\.0 No mail server/);
});

test('N2 real engine: a login from a non-client address gets 554 5.7.1 and the connection closes', async () => {
  const t = await run(newSession(smtpDeps, info({ secure: true, remoteAddress: '198.51.100.7' })), ['EHLO c', `AUTH PLAIN ${b64('\0alice\0alice-pass')}`, 'NOOP']);
  assert.match(t.replies.at(-1) ?? '', /^554 5\.7\.1 /);
  assert.ok(t.closed);
});
