// B1 end to end: our SMTP session with the real connector in front of a real Postfix (postfix)
// whose SASL is a real Dovecot (dovecot-core): XCLIENT carrying LOGIN/ADDR/PORT/HELO, and the
// relay login as master user or pass-through; the message arrives in the backend's maildir.
// Then swaks (swaks, libauthen-sasl-perl, libio-socket-ssl-perl), an independent client,
// through the real listener (STARTTLS and implicit TLS) with PLAIN, LOGIN and CRAM-MD5.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import type { CgValue } from '../../settings/format/types.js';
import type { ListenerConfig } from '../../settings/schema.js';
import { TlsContextResolver } from '../../tls/context.js';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { requireTool, run as runTool } from '../../tls/test/tools.js';
import { ListenerSet } from '../common/listener.js';
import { smtpSessionFactory } from './session.js';
import { DefaultBackendConnector } from '../../backends/default-connector.js';
import { startDovecot, type DovecotInstance } from '../../backends/test/dovecot.js';
import { fakeDirectory } from '../../backends/test/helpers.js';
import { startPostfix, type PostfixInstance } from '../../backends/test/postfix.js';
import { b64, deps, engineDouble, info, newSession, run } from './test/harness.js';

let dv: DovecotInstance;
let pf: PostfixInstance;

before(async () => {
  dv = await startDovecot({
    users: [{ name: 'alice@example.com', password: 'alice-pass' }],
    master: { name: 'mwmaster', password: 'master-pass' },
    authInet: true,
  });
  pf = await startPostfix({ domain: 'example.com', dovecotAuthPort: dv.authPort ?? 0 });
});
after(async () => {
  await pf?.stop();
  await dv?.stop();
});

function connector(settings: Record<string, CgValue>, token?: string): DefaultBackendConnector {
  return new DefaultBackendConnector({
    directory: fakeDirectory({ 'example.com': { BackendHost: '127.0.0.1', BackendSMTPPort: String(pf.port), BackendMasterUser: 'mwmaster', BackendMasterPassword: 'master-pass', ...settings } }),
    listeners: async () => [{ address: '0.0.0.0', port: 1587 }],
    hostname: async () => 'mailward.test',
    ...(token ? { token } : {}),
  });
}

async function send(settings: Record<string, CgValue>, remote: string, subject: string): Promise<string[]> {
  const session = newSession(deps(connector(settings)), info({ secure: true, startTlsAvailable: false, remoteAddress: remote, remotePort: 45678 }));
  const t = await run(session, [
    'EHLO laptop.client.example', `AUTH PLAIN ${b64('\0alice\0alice-pass')}`,
    'MAIL FROM:<alice@example.com>', 'RCPT TO:<bob@example.com>', 'DATA',
    `Subject: ${subject}`, 'From: alice@example.com', 'To: bob@example.com', '', 'Sent through Mailward.', '.', 'QUIT',
  ]);
  session.onClose();
  return t.replies;
}

test('B1 SMTP with XCLIENT to Postfix: LOGIN, ADDR, PORT and HELO reach it and the message is delivered', async () => {
  const replies = await send({ BackendSMTPMode: 'xclient' }, '192.0.2.77', 'xclient relay');
  assert.ok(replies.includes('235 2.7.0 Authentication successful'), replies.join('\n'));
  assert.match(replies.find((r) => r.startsWith('250 2.0.0 Ok: queued')) ?? '', /queued/, replies.join('\n'));
  const msg = await pf.waitForMessage('Subject: xclient relay');
  // Postfix's Received header names the client address and HELO from XCLIENT and the SASL login.
  assert.match(msg, /from laptop\.client\.example \(unknown \[192\.0\.2\.77\]\)/);
  assert.match(msg, /Authenticated sender: alice@example\.com/);
  assert.match(pf.log(), /client=unknown\[192\.0\.2\.77\]:45678, sasl_method=XCLIENT, sasl_username=alice@example\.com/);
});

test('B1 SMTP relay login to Postfix as the master user (PLAIN authzid) and pass-through', async () => {
  const master = await send({ BackendSMTPMode: 'relay-login', BackendMasterStyle: 'authzid' }, '192.0.2.78', 'master relay');
  assert.ok(master.some((r) => r.startsWith('250 2.0.0 Ok: queued')), master.join('\n'));
  assert.match(await pf.waitForMessage('Subject: master relay'), /Authenticated sender: alice@example\.com/);
  const pass = await send({ BackendSMTPMode: 'relay-login', BackendLogin: 'passthrough' }, '192.0.2.79', 'passthrough relay');
  assert.ok(pass.some((r) => r.startsWith('250 2.0.0 Ok: queued')), pass.join('\n'));
  assert.match(await pf.waitForMessage('Subject: passthrough relay'), /Authenticated sender: alice@example\.com/);
});

test('B1 SMTP relay login with a wrong master password: refused by Postfix, the client hears 454 4.7.0', async () => {
  // One failing attempt only: Dovecot's auth penalty would slow a second one down by seconds.
  const replies = await send({ BackendSMTPMode: 'relay-login', BackendMasterPassword: 'wrong' }, '192.0.2.80', 'never');
  assert.ok(replies.some((l) => l === '454 4.7.0 The mail server refused the session; try again later'), replies.join('\n'));
  // Postfix writes its log line a moment after it answered: wait for it (bounded).
  for (let i = 0; i < 50 && !/SASL PLAIN authentication failed/.test(pf.log()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(pf.log(), /SASL PLAIN authentication failed/);
});

test('B1 SMTP relay loop: a backend greeting with our banner token is refused', async () => {
  const r = await connector({}, 'backend.test').connect({ service: 'SMTP', login: { status: 'ok', account: 'alice', domain: 'example.com', source: 'own' }, client: info(), helo: 'x' });
  assert.equal(r.status, 'unavailable');
  assert.match(r.status === 'unavailable' ? r.reason : '', /relay loop/);
});

async function withListener(tlsMode: ListenerConfig['TLS'], f: (port: number) => Promise<void>): Promise<void> {
  const resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate('mx.example.com') });
  resolver.setDomains([], 'mx.example.com');
  const d = { ...deps(connector({ BackendSMTPMode: 'xclient' })), engine: engineDouble() };
  const set = new ListenerSet({ service: 'SMTP', tls: resolver, sessionFactory: smtpSessionFactory(d, { greetingDelayMs: 100 }) });
  try {
    assert.deepEqual(await set.update([{ Address: '127.0.0.1', Port: 0, TLS: tlsMode, Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin: 'tls-only' }]), []);
    await f(set.bound()[0]?.port ?? 0);
  } finally {
    await set.close({ connections: 'destroy' });
    resolver.close();
  }
}

test('B1 A1 A2 swaks through the real listener: PLAIN, LOGIN, CRAM-MD5 over STARTTLS and implicit TLS; each message arrives', async () => {
  requireTool('swaks', 'swaks');
  for (const mode of ['starttls', 'implicit'] as const) {
    await withListener(mode, async (port) => {
      for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
        const subject = `swaks ${mech} ${mode}`;
        const r = await runTool('swaks', ['--server', `127.0.0.1:${port}`, mode === 'implicit' ? '--tls-on-connect' : '--tls',
          '--auth', mech, '--auth-user', 'alice', '--auth-password', 'alice-pass', '--ehlo', 'swaks.client.example',
          '--from', 'alice@example.com', '--to', 'bob@example.com', '--header', `Subject: ${subject}`, '--body', 'via swaks'], { timeoutMs: 20_000 });
        assert.equal(r.code, 0, `${subject}:\n${r.out}`);
        const msg = await pf.waitForMessage(`Subject: ${subject}`);
        assert.match(msg, /Authenticated sender: alice@example\.com/);
      }
      // A8 on the wire: before TLS, swaks sees no PLAIN and our 538 when it insists.
      if (mode === 'starttls') {
        const r = await runTool('swaks', ['--server', `127.0.0.1:${port}`, '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'alice-pass',
          '--from', 'alice@example.com', '--to', 'bob@example.com', '--quit-after', 'AUTH'], { timeoutMs: 20_000 });
        assert.notEqual(r.code, 0, r.out);
        assert.doesNotMatch(r.out, /235 2\.7\.0/);
        const bad = await runTool('swaks', ['--server', `127.0.0.1:${port}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'alice', '--auth-password', 'wrong',
          '--from', 'alice@example.com', '--to', 'bob@example.com'], { timeoutMs: 20_000 });
        assert.equal(bad.code, 28, bad.out);
        assert.match(bad.out, /535 5\.7\.8/);
      }
    });
  }
});

test('early talker and HTTP over a real socket through the listener: 554 and close', async () => {
  await withListener('starttls', async (port) => {
    for (const [send, code] of [['EHLO too-early\r\n', /^554 5\.5\.0/], ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', /554 5\.7\.0/]] as const) {
      const text = await new Promise<string>((resolve) => {
        const c = connect(port, '127.0.0.1');
        let got = '';
        c.on('connect', () => { if (send.startsWith('EHLO')) c.write(send); });
        c.on('data', (d) => {
          got += d.toString('latin1');
          if (!send.startsWith('EHLO') && got.startsWith('220 ') && !got.includes('GET-sent')) { got += 'GET-sent'; c.write(send); }
        });
        c.on('close', () => resolve(got));
        c.on('error', () => resolve(got));
      });
      assert.match(text.replace('GET-sent', ''), code, text);
    }
  });
});
