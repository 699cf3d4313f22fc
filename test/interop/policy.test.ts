// Issue 5 proof, the policy half, through Mailward's real listeners in front of a real Dovecot and
// Postfix: wrong password and unknown user with Hide Unknown on and off (H1), Secure Method
// Required over a clear link (A7), no clear-text login before TLS (A8), the lock-out seen from
// IMAP, POP3, SMTP and PWD (H2), logins from a non-client address (N2), Grant/Deny (N3), PROXY v2
// from a real HAProxy (N4), the STARTTLS injection test on each protocol (T1), and a backend that
// is down, that refuses the master login, or that is not configured at all (B1, B2).
// Independent clients (curl, swaks, gsasl) where a client can show it; a raw line client where
// the exact reply words are the point.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/backends/test/dovecot.js';
import { LineClient } from '../../src/protocols/common/test-support.js';
import { DOMAIN, startStack, type Stack } from './stack.js';
import { startHaproxy, type HaproxyInstance } from './haproxy.js';
import { inHosts, LogCapture, requireNamespaceTools, requireTool, runClient, writeHostsFile, type RunResult } from './tools.js';
import { login, loggedIn, open, tryLogin, until, type Proto } from './wire.js';

const PW = { alice: 'Alice-policy-pw1', sam: 'Sam-policy-pw22', lou: 'Lou-policy-pw333', carol: 'Carol-policy-pw4', wendy: 'Wendy-policy-pw5', nina: 'Nina-policy-pw66', dan: 'Dan-policy-pw777', bob: 'Bob-policy-pw888' };
/** The lock-out test's limit; the rest of the file runs with a limit no test reaches. */
const LOCKOUT_LIMIT = 3;
const RELAXED_LIMIT = 1000;
/** B1: "quickly" - a refused connection to a backend answers at once; this leaves room for a
 *  loaded CI machine while catching anything that waits for a time-out. */
const QUICK_MS = 3000;
/** A client address from outside (TEST-NET-1), carried in PROXY headers: every 127.0.0.0/8
 *  address is "the server itself" to N2 (auth/engine.ts exempts loopback), so a non-client
 *  address on one machine can only come through a load balancer's header. */
const REMOTE_CLIENT = '192.0.2.10';

const logs = new LogCapture();
let st: Stack;
let dir: string;
let hostsFile: string;
let caFile: string;
let haproxy: HaproxyInstance;

before(async () => {
  logs.install();
  dir = mkdtempSync(join(tmpdir(), 'mw-interop-policy-'));
  hostsFile = join(dir, 'hosts');
  writeHostsFile(hostsFile, [DOMAIN]);
  requireNamespaceTools(hostsFile);
  const closedPort = await freePort();
  const clear = { TLS: 'clear' as const, ClearTextLogin: 'always' as const };
  st = await startStack({
    listeners: {
      IMAP: [
        { id: 'imap-s', TLS: 'starttls' }, { id: 'imap-i', TLS: 'implicit' }, { id: 'imap-clear', ...clear },
        { id: 'imap-deny', TLS: 'starttls', Deny: ['127.0.0.2'] }, { id: 'imap-grant', TLS: 'starttls', Grant: ['127.0.0.1/32'] },
        { id: 'imap-proxy', TLS: 'starttls', ProxyFrom: ['127.0.0.1'] },
        { id: 'imap-proxy-deny', TLS: 'starttls', ProxyFrom: ['127.0.0.1'], Deny: ['127.0.0.2'] },
      ],
      POP: [{ id: 'pop-s', TLS: 'starttls' }, { id: 'pop-i', TLS: 'implicit' }, { id: 'pop-clear', ...clear }, { id: 'pop-proxy', TLS: 'starttls', ProxyFrom: ['127.0.0.1'] }],
      SMTP: [{ id: 'smtp-s', TLS: 'starttls' }, { id: 'smtp-i', TLS: 'implicit' }, { id: 'smtp-clear', ...clear }, { id: 'smtp-proxy', TLS: 'starttls', ProxyFrom: ['127.0.0.1'] }],
      PWD: [{ id: 'pwd-i', TLS: 'implicit' }],
    },
    accounts: [
      { name: 'alice', password: PW.alice, settings: { PasswordEncryption: 'clear' } },
      { name: 'sam', password: PW.sam, settings: { PasswordEncryption: 'clear', RequireSecureMethod: 'YES' } },
      { name: 'lou', password: PW.lou, settings: { PasswordEncryption: 'clear' } },
      { name: 'wendy', password: PW.wendy, settings: { PasswordEncryption: 'clear' } },
      { name: 'carol', password: PW.carol },
      { name: 'nina', password: PW.nina, domain: 'nobackend.test' },
      { name: 'dan', password: PW.dan, domain: 'down.test' },
      { name: 'bob', password: PW.bob, domain: 'badmaster.test' },
    ],
    server: {
      LoginFailureLimit: String(RELAXED_LIMIT), LoginFailurePeriod: '600', HideUnknownAccounts: 'YES',
      LogLevels: { AUTH: 'info', IMAP: 'info', POP: 'info', SMTP: 'info', BACKEND: 'info', LISTENER: 'info' },
    },
    domains: {
      // B2: no backend at all.
      'nobackend.test': { BackendHost: '' },
      // B1: a backend whose ports refuse connections (nothing listens there).
      'down.test': { BackendHost: '127.0.0.1', BackendIMAPPort: String(closedPort), BackendPOPPort: String(closedPort), BackendSMTPPort: String(closedPort), BackendMasterUser: 'mwmaster', BackendMasterPassword: 'x' },
    },
    // B1: the real backend, with a master password it refuses.
    backendDomains: { 'badmaster.test': { BackendMasterPassword: 'not-the-master-password' } },
    postfix: true,
  });
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, st.server.runtime.testCertificate.chainPem);
  haproxy = await startHaproxy([
    { name: 'imap', target: st.port('imap-proxy') },
    { name: 'imap-deny', target: st.port('imap-proxy-deny') },
    { name: 'imap-remote', target: st.port('imap-proxy'), setSrc: REMOTE_CLIENT },
    { name: 'pop-remote', target: st.port('pop-proxy'), setSrc: REMOTE_CLIENT },
  ]);
  for (const a of ['alice', 'sam', 'carol', 'lou', 'wendy']) {
    await st.dv.deliver(`${a}@${DOMAIN}`, `Subject: policy seed\r\nFrom: seed@example.com\r\n\r\npolicy-seed-body for ${a}\r\n`);
  }
});

after(async () => {
  await haproxy?.stop();
  await st?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const PORTS: Record<Proto, { s: string; i: string; clear?: string }> = {
  IMAP: { s: 'imap-s', i: 'imap-i', clear: 'imap-clear' },
  POP3: { s: 'pop-s', i: 'pop-i', clear: 'pop-clear' },
  SMTP: { s: 'smtp-s', i: 'smtp-i', clear: 'smtp-clear' },
  PWD: { s: 'pwd-i', i: 'pwd-i' },
};

function curlArgs(proto: 'IMAP' | 'POP3' | 'SMTP', port: number, user: string, password: string, opts: { mech?: string; tls?: boolean; implicit?: boolean; iface?: string } = {}): string[] {
  const scheme = { IMAP: 'imap', POP3: 'pop3', SMTP: 'smtp' }[proto] + (opts.implicit ? 's' : '');
  const path = { IMAP: '/INBOX/;UID=1', POP3: '/1', SMTP: '' }[proto];
  return [
    '-sS', '-v', '--max-time', '15', '--cacert', caFile, '--resolve', `${DOMAIN}:${port}:127.0.0.1`, '-u', `${user}:${password}`,
    ...(opts.mech ? ['--login-options', `AUTH=${opts.mech}`] : []),
    ...(opts.tls === false || opts.implicit ? [] : ['--ssl-reqd']),
    ...(opts.iface ? ['--interface', opts.iface] : []),
    ...(proto === 'SMTP' ? ['--mail-from', `${user}@${DOMAIN}`, '--mail-rcpt', 'bob@example.com', '--upload-file', writeMessage()] : []),
    `${scheme}://${DOMAIN}:${port}${path}`,
  ];
}

let messages = 0;
function writeMessage(): string {
  messages += 1;
  const f = join(dir, `m${messages}.eml`);
  writeFileSync(f, `Subject: policy ${messages}\r\n\r\nfrom the policy tests\r\n`);
  return f;
}

async function curl(args: string[]): Promise<RunResult> {
  requireTool('curl', 'curl');
  return runClient('curl', args);
}

// ---- H1: wrong password, unknown user -------------------------------------------------------

test('H1 wrong password: curl (IMAP, POP3) and swaks (SMTP) are refused; the replies name no account state', async () => {
  for (const proto of ['IMAP', 'POP3'] as const) {
    const r = await curl(curlArgs(proto, st.port(PORTS[proto].s), 'wendy', 'wrong-password'));
    assert.equal(r.code, 67, `curl ${proto} exit 67 (login denied):\n${r.out}`);
    assert.match(r.out, proto === 'IMAP' ? /^< A\d+ NO \[AUTHENTICATIONFAILED\] Authentication failed/m : /^< -ERR \[AUTH\] Authentication failed/m);
  }
  requireTool('swaks', 'swaks');
  const [cmd, argv] = inHosts(hostsFile, 'swaks', ['--server', `${DOMAIN}:${st.port('smtp-s')}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'wendy', '--auth-password', 'wrong-password', '--from', `wendy@${DOMAIN}`, '--to', 'bob@example.com']);
  const s = await runClient(cmd, argv);
  assert.equal(s.code, 28, `swaks exit 28 (auth failed):\n${s.out}`);
  assert.match(s.out, /^<~\* +535 5\.7\.8 Authentication credentials invalid/m);
});

test('H1, H2 LoginFailureDelay=1s through the real listeners: curl\'s wrong password (IMAP) and swaks\' (SMTP) are answered after the delay, while a right login on another connection meanwhile goes through at once', async () => {
  await st.updateServer({ LoginFailureDelay: '1s' });
  try {
    requireTool('swaks', 'swaks');
    const [cmd, argv] = inHosts(hostsFile, 'swaks', ['--server', `${DOMAIN}:${st.port('smtp-s')}`, '--tls', '--auth', 'PLAIN', '--auth-user', 'wendy', '--auth-password', 'wrong-password', '--from', `wendy@${DOMAIN}`, '--to', 'bob@example.com']);
    const [wrong, smtpWrong, right] = await Promise.all([
      curl(curlArgs('IMAP', st.port(PORTS.IMAP.s), 'wendy', 'wrong-password')),
      runClient(cmd, argv),
      // Started a little later, so that it runs while the failures wait.
      new Promise<void>((r) => setTimeout(r, 200)).then(() => curl(curlArgs('IMAP', st.port(PORTS.IMAP.s), 'alice', PW.alice))),
    ]);
    assert.equal(wrong.code, 67, wrong.out);
    assert.equal(smtpWrong.code, 28, smtpWrong.out);
    assert.equal(right.code, 0, right.out);
    assert.ok(wrong.ms >= 1000, `IMAP wrong password answered after ${wrong.ms} ms`);
    assert.ok(smtpWrong.ms >= 1000, `SMTP wrong password answered after ${smtpWrong.ms} ms`);
    assert.ok(right.ms < wrong.ms, `the right login (${right.ms} ms) did not wait behind the failures (${wrong.ms} ms)`);
  } finally {
    await st.updateServer({ LoginFailureDelay: '0s' });
  }
});

test('H1 unknown user with Hide Unknown on: the reply is byte for byte the wrong-password reply, on IMAP, POP3, SMTP and PWD', async () => {
  await st.updateServer({ HideUnknownAccounts: 'YES' });
  for (const proto of ['IMAP', 'POP3', 'SMTP', 'PWD'] as const) {
    const wrong = await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'wendy', 'wrong-password');
    const unknown = await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'nobody-here', 'wrong-password');
    assert.ok(!loggedIn(proto, wrong), wrong);
    assert.equal(unknown, wrong, `${proto}: unknown and wrong password must read the same`);
  }
});

test('H1 unknown user with Hide Unknown off: IMAP and POP3 say the account is unknown; SMTP has one reply for both (535 5.7.8)', async () => {
  await st.updateServer({ HideUnknownAccounts: 'NO' });
  try {
    assert.equal(await tryLogin('IMAP', st.port('imap-i'), 'implicit', 'nobody-here', 'x-password'), 'L NO [AUTHENTICATIONFAILED] Unknown account');
    assert.equal(await tryLogin('IMAP', st.port('imap-i'), 'implicit', 'wendy', 'wrong-password'), 'L NO [AUTHENTICATIONFAILED] Authentication failed');
    assert.equal(await tryLogin('POP3', st.port('pop-i'), 'implicit', 'nobody-here', 'x-password'), '-ERR [AUTH] Unknown account');
    assert.equal(await tryLogin('SMTP', st.port('smtp-i'), 'implicit', 'nobody-here', 'x-password'), '535 5.7.8 Authentication credentials invalid');
    // curl shows the same as an independent client.
    const r = await curl(curlArgs('IMAP', st.port('imap-s'), 'nobody-here', 'x-password'));
    assert.equal(r.code, 67);
    assert.match(r.out, /^< A\d+ NO \[AUTHENTICATIONFAILED\] Unknown account/m);
  } finally {
    await st.updateServer({ HideUnknownAccounts: 'YES' });
  }
});

test('A9 CRAM-MD5 for an account stored one-way fails cleanly (curl exit 67, NO AUTHENTICATIONFAILED), while PLAIN works for it', async () => {
  const cram = await curl(curlArgs('IMAP', st.port('imap-i'), 'carol', PW.carol, { mech: 'CRAM-MD5', implicit: true }));
  assert.equal(cram.code, 67, cram.out);
  assert.match(cram.out, /^< A\d+ NO \[AUTHENTICATIONFAILED\]/m);
  const plain = await curl(curlArgs('IMAP', st.port('imap-s'), 'carol', PW.carol, { mech: 'PLAIN' }));
  assert.equal(plain.code, 0, plain.out);
});

/** The NT response length of the NTLM Type-3 message a client sent (24 = NTLMv1, more = NTLMv2). */
function ntResponseLengths(out: string): number[] {
  return [...out.matchAll(/(TlRMTVNTUAAD[A-Za-z0-9+/=]+)/g)].map((m) => Buffer.from(m[1]!, 'base64').readUInt16LE(20));
}

test('A3 NTLM over IMAP with curl, gsasl and imtest: which version each answers, and NTLMv1 accepted only while AllowNTLMv1 is on', async () => {
  requireTool('gsasl', 'gsasl');
  const runs: Record<string, () => Promise<{ code: number | null; out: string; ok: boolean }>> = {
    curl: async () => { const r = await curl(curlArgs('IMAP', st.port('imap-s'), 'alice', PW.alice, { mech: 'NTLM' })); return { ...r, ok: r.code === 0 }; },
    gsasl: async () => {
      const [cmd, argv] = inHosts(hostsFile, 'gsasl', ['--connect', `${DOMAIN}:${st.port('imap-s')}`, '--imap', '--starttls', '-a', 'alice', '-p', PW.alice, '-r', DOMAIN, '-m', 'NTLM', '--x509-ca-file', caFile, '-d']);
      const r = await runClient(cmd, argv);
      return { ...r, ok: r.code === 0 && /Client authentication finished/.test(r.out) };
    },
    imtest: async () => {
      const [cmd, argv] = inHosts(hostsFile, '/usr/lib/cyrus/bin/imtest', ['-t', '', '-p', String(st.port('imap-s')), '-m', 'NTLM', '-a', 'alice', '-w', PW.alice, DOMAIN]);
      const r = await runClient(cmd, argv);
      return { ...r, ok: /^Authenticated\.$/m.test(r.out) };
    },
  };
  const seen: string[] = [];
  try {
    for (const allowV1 of ['YES', 'NO']) {
      await st.updateServer({ AdvertiseNTLM: 'YES', AllowNTLMv1: allowV1 });
      for (const [name, run] of Object.entries(runs)) {
        const r = await run();
        const lengths = ntResponseLengths(r.out);
        assert.equal(lengths.length, 1, `${name}: one Type-3 message in the transcript:\n${r.out.slice(-3000)}`);
        const v1 = lengths[0] === 24;
        seen.push(`${name}: NTLMv${v1 ? 1 : 2} with AllowNTLMv1=${allowV1} -> ${r.ok ? 'accepted' : 'refused'}`);
        assert.equal(r.ok, !v1 || allowV1 === 'YES', seen[seen.length - 1]);
      }
    }
    // Both versions met the server: a client change that hid one would make this test weaker.
    assert.ok(seen.some((x) => /NTLMv1 with AllowNTLMv1=NO -> refused/.test(x)), seen.join('; '));
    assert.ok(seen.some((x) => /NTLMv2 with AllowNTLMv1=NO -> accepted/.test(x)), seen.join('; '));
    await st.updateServer({ AdvertiseNTLM: 'NO' });
    const hidden = await curl(curlArgs('IMAP', st.port('imap-s'), 'alice', PW.alice, { mech: 'NTLM' }));
    assert.notEqual(hidden.code, 0, 'not offered, so curl has no NTLM to use');
    assert.doesNotMatch(hidden.out, /AUTH=NTLM/);
  } finally {
    await st.updateServer({ AdvertiseNTLM: 'NO', AllowNTLMv1: 'NO' });
    process.stdout.write(`A3 NTLM versions: ${seen.join('; ')}\n`);
  }
});

test('A1 PLAIN with the authzid of another account (curl --sasl-authzid, gsasl -z): refused, since alice holds no right to act for wendy', async () => {
  const args = curlArgs('IMAP', st.port('imap-s'), 'alice', PW.alice, { mech: 'PLAIN' });
  const r = await curl([...args.slice(0, -1), '--sasl-authzid', `wendy@${DOMAIN}`, args[args.length - 1]!]);
  assert.equal(r.code, 67, r.out);
  assert.match(r.out, /^< A\d+ NO /m);
  const mark = logs.mark();
  const [cmd, argv] = inHosts(hostsFile, 'gsasl', ['--connect', `${DOMAIN}:${st.port('smtp-s')}`, '--smtp', '--starttls', '-a', 'alice', '-z', `wendy@${DOMAIN}`, '-p', PW.alice, '-m', 'PLAIN', '--x509-ca-file', caFile, '-d']);
  const g = await runClient(cmd, argv);
  assert.notEqual(g.code, 0, g.out);
  assert.match(g.out, /^535 /m);
  assert.deepEqual(logs.since(mark, 'auth.success'), []);
});

// ---- A7: Secure Method Required over a clear link -------------------------------------------

test('A7 over a clear link (ClearTextLogin=always): clear-text passwords refused with the "secure method" reply on IMAP, POP3 and SMTP; CRAM-MD5 accepted and relayed; PLAIN accepted over TLS', async () => {
  const expected = {
    IMAP: 'L NO [PRIVACYREQUIRED] This account requires TLS or a secure authentication method',
    POP3: '-ERR [AUTH] This account requires TLS or a secure authentication method',
    SMTP: '538 5.7.11 Encryption required for requested authentication mechanism',
  };
  for (const proto of ['IMAP', 'POP3', 'SMTP'] as const) {
    assert.equal(await tryLogin(proto, st.port(PORTS[proto].clear!), 'clear', 'sam', PW.sam), expected[proto], proto);
    // The same clear-text password over TLS is fine.
    assert.ok(loggedIn(proto, await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'sam', PW.sam)), `${proto} over TLS`);
  }
  // Independent clients over the clear link: curl with CRAM-MD5 logs in and fetches; PLAIN is refused.
  const cram = await curl(curlArgs('IMAP', st.port('imap-clear'), 'sam', PW.sam, { mech: 'CRAM-MD5', tls: false }));
  assert.equal(cram.code, 0, cram.out);
  assert.doesNotMatch(cram.out, /STARTTLS/, 'the link stayed clear');
  const plain = await curl(curlArgs('POP3', st.port('pop-clear'), 'sam', PW.sam, { mech: 'PLAIN', tls: false }));
  assert.equal(plain.code, 67, plain.out);
  assert.match(plain.out, /^< -ERR \[AUTH\] This account requires TLS or a secure authentication method/m);
});

// ---- A8: no clear-text login before TLS on a tls-only listener ------------------------------

test('A8 before TLS on a tls-only listener: IMAP LOGINDISABLED and no AUTH=PLAIN/LOGIN, POP3 no USER, SMTP no AUTH PLAIN/LOGIN; after STARTTLS they appear', async () => {
  const imap = await open('IMAP', st.port('imap-s'), 'clear');
  try {
    imap.c.send('C CAPABILITY\r\n');
    const before = (await until(imap.c, /^C /)).join('\n');
    assert.match(before, /LOGINDISABLED/);
    assert.match(before, /STARTTLS/);
    assert.doesNotMatch(before, /AUTH=PLAIN|AUTH=LOGIN\b/);
    assert.match(before, /AUTH=CRAM-MD5/, 'secure mechanisms stay offered');
    assert.match(await imap.c.ask(`L LOGIN alice ${PW.alice}`), /^L NO \[PRIVACYREQUIRED\] Clear-text passwords are not allowed/);
    assert.equal(await imap.c.ask('S STARTTLS'), 'S OK Begin TLS negotiation now');
    await imap.c.upgrade({ servername: DOMAIN });
    imap.c.send('C CAPABILITY\r\n');
    const afterTls = (await until(imap.c, /^C /)).join('\n');
    assert.doesNotMatch(afterTls, /LOGINDISABLED/);
    assert.match(afterTls, /AUTH=PLAIN/);
  } finally { imap.c.destroy(); }

  const pop = await open('POP3', st.port('pop-s'), 'clear');
  try {
    pop.c.send('CAPA\r\n');
    const capa = (await until(pop.c, /^\.$/)).join('\n');
    assert.doesNotMatch(capa, /^USER$/m);
    assert.doesNotMatch(capa, /^SASL .*\b(PLAIN|LOGIN)\b/m);
    assert.match(capa, /^STLS$/m);
    assert.match(await pop.c.ask('USER alice'), /^-ERR/);
  } finally { pop.c.destroy(); }

  const smtp = await open('SMTP', st.port('smtp-s'), 'clear');
  try {
    smtp.c.send('EHLO client.test\r\n');
    const ehlo = (await until(smtp.c, /^250 /)).join('\n');
    assert.match(ehlo, /^250-STARTTLS$/m);
    assert.doesNotMatch(ehlo, /AUTH .*\b(PLAIN|LOGIN)\b/);
    assert.match(await smtp.c.ask(`AUTH PLAIN ${Buffer.from(`\0alice\0${PW.alice}`).toString('base64')}`), /^538 5\.7\.11 /);
  } finally { smtp.c.destroy(); }
});

test('A8 gsasl --no-starttls tries PLAIN (not offered before TLS) on IMAP and SMTP: refused, and the password never logs in', async () => {
  requireTool('gsasl', 'gsasl');
  for (const [proto, id] of [['--imap', 'imap-s'], ['--smtp', 'smtp-s']] as const) {
    const mark = logs.mark();
    const [cmd, argv] = inHosts(hostsFile, 'gsasl', ['--connect', `${DOMAIN}:${st.port(id)}`, proto, '--no-starttls', '-a', 'alice', '-p', PW.alice, '-m', 'PLAIN', '-d']);
    const r = await runClient(cmd, argv);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, proto === '--imap' ? /^\. NO \[PRIVACYREQUIRED\]/m : /^538 5\.7\.11 /m);
    assert.deepEqual(logs.since(mark, 'auth.success'), []);
  }
});

// ---- H2: lock-out seen from every protocol --------------------------------------------------

test('H2 lock-out after failures on IMAP: the right password is then refused on IMAP, POP3, SMTP and PWD (as a wrong password with Hide Unknown on, named with it off); unlock lets it in again', async () => {
  await st.updateServer({ LoginFailureLimit: String(LOCKOUT_LIMIT) });
  try {
    for (let i = 0; i < LOCKOUT_LIMIT; i++) {
      const r = await curl(curlArgs('IMAP', st.port('imap-s'), 'lou', `wrong-${i}`));
      assert.equal(r.code, 67);
    }
    const engineState = await st.server.runtime.engine.lockoutState(DOMAIN, 'lou');
    assert.ok(engineState.lockedUntil !== null, 'the engine reports the account locked');
    const hidden = { IMAP: 'L NO [AUTHENTICATIONFAILED] Authentication failed', POP3: '-ERR [AUTH] Authentication failed', SMTP: '535 5.7.8 Authentication credentials invalid', PWD: '' };
    for (const proto of ['IMAP', 'POP3', 'SMTP', 'PWD'] as const) {
      const r = await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'lou', PW.lou);
      assert.ok(!loggedIn(proto, r), `${proto} refuses the right password while locked: ${r}`);
      if (hidden[proto]) assert.equal(r, hidden[proto], `${proto} with Hide Unknown on`);
    }
    // An independent client sees it too: curl POP3 with the right password.
    const c = await curl(curlArgs('POP3', st.port('pop-s'), 'lou', PW.lou));
    assert.equal(c.code, 67, c.out);
    await st.updateServer({ HideUnknownAccounts: 'NO' });
    assert.equal(await tryLogin('IMAP', st.port('imap-i'), 'implicit', 'lou', PW.lou), 'L NO [AUTHENTICATIONFAILED] Account temporarily locked after too many failed logins; try again later');
    assert.equal(await tryLogin('POP3', st.port('pop-i'), 'implicit', 'lou', PW.lou), '-ERR [AUTH] Account temporarily locked after too many failed logins; try again later');
    assert.equal(await tryLogin('SMTP', st.port('smtp-i'), 'implicit', 'lou', PW.lou), '535 5.7.8 Authentication failed: account temporarily suspended');
    assert.ok(!loggedIn('PWD', await tryLogin('PWD', st.port('pwd-i'), 'implicit', 'lou', PW.lou)));
    await st.server.runtime.engine.unlock(DOMAIN, 'lou');
    for (const proto of ['IMAP', 'POP3', 'SMTP', 'PWD'] as const) {
      const r = await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'lou', PW.lou);
      assert.ok(loggedIn(proto, r), `${proto} after unlock: ${r}`);
    }
  } finally {
    await st.updateServer({ LoginFailureLimit: String(RELAXED_LIMIT), HideUnknownAccounts: 'YES' });
    await st.server.runtime.engine.unlock(DOMAIN, 'lou');
  }
});

// ---- N2: logins from a non-client address ---------------------------------------------------

test('N2 from a non-client address (192.0.2.10 carried by HAProxy for IMAP and POP3, by swaks\' PROXY v2 header for SMTP): every login refused with the N2 reply and closed; the same logins from 127.0.0.1 pass', async () => {
  await st.updateServer({ RejectNonClientLogins: 'YES', ClientIPAddresses: ['127.0.0.1/32'] });
  try {
    const n2 = { IMAP: /^< A\d+ NO \[CONTACTADMIN\] Logins are not accepted from your address/m, POP3: /^< -ERR Logins are not accepted from your address/m };
    for (const proto of ['IMAP', 'POP3'] as const) {
      const mark = logs.mark();
      const r = await curl(curlArgs(proto, haproxy.port(proto === 'IMAP' ? 'imap-remote' : 'pop-remote'), 'alice', PW.alice, { mech: 'CRAM-MD5' }));
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, n2[proto], r.out);
      assert.ok(logs.since(mark, 'auth.failed').some((x) => x.remote === REMOTE_CLIENT && x.outcome === 'not-client-address'), 'the engine saw the carried address');
      const ok = await curl(curlArgs(proto, st.port(PORTS[proto].s), 'alice', PW.alice, { mech: 'CRAM-MD5' }));
      assert.equal(ok.code, 0, `${proto} from 127.0.0.1:\n${ok.out}`);
    }
    requireTool('swaks', 'swaks');
    const swaks = (source: string): [string, string[]] => inHosts(hostsFile, 'swaks', [
      '--server', `${DOMAIN}:${st.port('smtp-proxy')}`, '--proxy-version', '2', '--proxy-family', 'AF_INET', '--proxy-source', source, '--proxy-source-port', '40001',
      '--proxy-dest', '127.0.0.1', '--proxy-dest-port', String(st.port('smtp-proxy')),
      '--tls', '--auth', 'CRAM-MD5', '--auth-user', 'alice', '--auth-password', PW.alice, '--from', `alice@${DOMAIN}`, '--to', 'bob@example.com',
    ]);
    const refused = await runClient(...swaks(REMOTE_CLIENT));
    assert.notEqual(refused.code, 0, refused.out);
    assert.match(refused.out, /^<~\*? +554 5\.7\.1 Logins are not accepted from your address/m, refused.out);
    const accepted = await runClient(...swaks('127.0.0.1'));
    assert.equal(accepted.code, 0, accepted.out);
    // The raw line client shows the close after the reply (N2: refused and disconnected).
    const conn = await open('IMAP', haproxy.port('imap-remote'), 'starttls');
    assert.equal(await login('IMAP', conn, 'alice', PW.alice), 'L NO [CONTACTADMIN] Logins are not accepted from your address');
    await conn.c.waitClosed();
    // 127.0.0.2 is loopback, so "the server itself" to N2: it still logs in (curl --interface).
    const local = await curl(curlArgs('IMAP', st.port('imap-s'), 'alice', PW.alice, { mech: 'CRAM-MD5', iface: '127.0.0.2' }));
    assert.equal(local.code, 0, local.out);
  } finally {
    await st.updateServer({ RejectNonClientLogins: 'NO', ClientIPAddresses: ['127.0.0.0/8', '::1'] });
  }
});

// ---- N3: Grant / Deny -------------------------------------------------------------------------

async function closedWithoutAByte(port: number, localAddress: string): Promise<boolean> {
  const c = await LineClient.connect(port, { localAddress });
  try {
    await c.waitClosed(3000);
    return c.received === 0;
  } finally { c.destroy(); }
}

test('N3 Deny 127.0.0.2 and Grant 127.0.0.1/32: the refused source is closed before a byte is sent; the others get the greeting', async () => {
  assert.equal(await closedWithoutAByte(st.port('imap-deny'), '127.0.0.2'), true, 'denied address');
  assert.equal(await closedWithoutAByte(st.port('imap-grant'), '127.0.0.3'), true, 'address outside Grant');
  for (const [id, from] of [['imap-deny', '127.0.0.1'], ['imap-grant', '127.0.0.1']] as const) {
    const conn = await open('IMAP', st.port(id), 'clear', { localAddress: from });
    assert.match(conn.greeting, /^\* OK /);
    conn.c.destroy();
  }
  // curl from the denied address fails before any greeting.
  const r = await curl(curlArgs('IMAP', st.port('imap-deny'), 'alice', PW.alice, { iface: '127.0.0.2' }));
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.out, /^< \* OK/m);
});

// ---- N4: PROXY v2 from HAProxy --------------------------------------------------------------

test('N4 PROXY v2 sent by HAProxy: Mailward uses the carried address (127.0.0.2) for Deny and the login, and passes it on to Dovecot (N2 with a carried address: the N2 test)', async () => {
  const via = haproxy.port('imap');
  // From 127.0.0.1 through HAProxy: accepted, and the backend sees the client's address.
  const mark = logs.mark();
  const ok = await curl(curlArgs('IMAP', via, 'alice', PW.alice, { mech: 'PLAIN', iface: '127.0.0.1' }));
  assert.equal(ok.code, 0, ok.out);
  const accepted = logs.since(mark, 'connection.accepted');
  assert.ok(accepted.some((r) => r.proxy === 'v2' || r.proxy === 2 || r.proxy === 'PROXY v2'), `the PROXY header was taken: ${JSON.stringify(accepted)}`);
  // From 127.0.0.2 through HAProxy: Mailward sees 127.0.0.2 (its TCP peer is HAProxy at 127.0.0.1).
  const mark2 = logs.mark();
  const via2 = await curl(curlArgs('IMAP', via, 'alice', PW.alice, { mech: 'PLAIN', iface: '127.0.0.2' }));
  assert.equal(via2.code, 0, via2.out);
  assert.ok(logs.since(mark2, 'auth.success').some((r) => r.remote === '127.0.0.2'), 'the engine saw the carried address');
  const dovecotLog = await st.dv.log();
  assert.match(dovecotLog, /user=<alice@example\.com>.*rip=127\.0\.0\.2/, 'Dovecot got the carried address (ID x-originating-ip)');
  // Deny with the carried address: closed before the greeting.
  const denied = await curl(curlArgs('IMAP', haproxy.port('imap-deny'), 'alice', PW.alice, { iface: '127.0.0.2' }));
  assert.notEqual(denied.code, 0);
  assert.doesNotMatch(denied.out, /^< \* OK/m);
  const allowed = await curl(curlArgs('IMAP', haproxy.port('imap-deny'), 'alice', PW.alice, { mech: 'PLAIN', iface: '127.0.0.1' }));
  assert.equal(allowed.code, 0, allowed.out);
  // Without HAProxy, a client at an address outside ProxyFrom that sends a PROXY header gets
  // nothing from it: the header is just a bad command (N4: only configured sources).
  const fake = await LineClient.connect(st.port('imap-proxy'), { localAddress: '127.0.0.2' });
  try {
    fake.send('PROXY TCP4 10.9.8.7 127.0.0.1 5555 143\r\n');
    const lines = [await fake.line(), await fake.line()];
    assert.ok(lines.some((l) => /^\* OK /.test(l)) || lines.some((l) => /BAD/.test(l)), lines.join('\n'));
  } catch {
    // A listener may also drop a connection from outside ProxyFrom that speaks PROXY: also fine.
  } finally { fake.destroy(); }
});

// ---- T1: STARTTLS injection -----------------------------------------------------------------

test('T1 STARTTLS injection on IMAP, POP3 and SMTP: a command pipelined after STARTTLS in the same packet is not executed', async () => {
  // The injected command would get an error reply; the probe sent after the handshake gets a
  // different one, so the first reply after TLS tells which command the server ran.
  const cases = [
    { proto: 'IMAP' as const, id: 'imap-s', inject: 'A STARTTLS\r\nB XYZZY\r\n', injected: 'B XYZZY\r\n', ok: /^A OK /, probe: 'C NOOP', first: /^C OK / },
    { proto: 'POP3' as const, id: 'pop-s', inject: 'STLS\r\nXYZZY\r\n', injected: 'XYZZY\r\n', ok: /^\+OK /, probe: 'CAPA', first: /^\+OK Capability list follows/ },
    { proto: 'SMTP' as const, id: 'smtp-s', inject: 'STARTTLS\r\nXYZZY\r\n', injected: 'XYZZY\r\n', ok: /^220 /, probe: 'EHLO client.test', first: /^250[- ]/ },
  ];
  for (const k of cases) {
    const mark = logs.mark();
    const conn = await open(k.proto, st.port(k.id), 'clear');
    try {
      conn.c.send(k.inject); // one write: both commands reach the server in one segment
      assert.match(await conn.c.line(), k.ok, `${k.proto}: STARTTLS accepted`);
      await conn.c.upgrade({ servername: DOMAIN });
      const first = await conn.c.ask(k.probe);
      assert.match(first, k.first, `${k.proto}: the first reply after TLS is for the probe, not the injected command: ${first}`);
      const discarded = logs.since(mark, 'starttls.discarded');
      assert.ok(discarded.some((r) => Number(r.bytes) === k.injected.length), `${k.proto}: the listener logged the discarded bytes: ${JSON.stringify(discarded)}`);
    } finally { conn.c.destroy(); }
  }
});

// ---- B1 / B2: backend down, refusing, absent ------------------------------------------------

test('B1 backend down (nothing listens on its ports): a quick temporary error on IMAP, POP3 and SMTP, never a hang or a fake session', async () => {
  const expected = {
    IMAP: 'L NO [UNAVAILABLE] The mail server is unavailable; try again later',
    POP3: /^-ERR \[SYS\/TEMP\] /,
    SMTP: '454 4.7.0 The mail server is not available; try again later',
  };
  for (const proto of ['IMAP', 'POP3', 'SMTP'] as const) {
    const t0 = Date.now();
    const r = await tryLogin(proto, st.port(PORTS[proto].i), 'implicit', 'dan@down.test', PW.dan);
    const ms = Date.now() - t0;
    if (typeof expected[proto] === 'string') assert.equal(r, expected[proto], proto);
    else assert.match(r, expected[proto] as RegExp, proto);
    assert.ok(ms < QUICK_MS, `${proto} answered in ${ms} ms`);
  }
});

test('B2 no backend configured for the domain: after a good login, a temporary error that says so (IMAP, POP3, SMTP; curl sees the refusal)', async () => {
  assert.equal(await tryLogin('IMAP', st.port('imap-i'), 'implicit', 'nina@nobackend.test', PW.nina), 'L NO [UNAVAILABLE] No mail server is configured for your domain; try again later');
  assert.equal(await tryLogin('POP3', st.port('pop-i'), 'implicit', 'nina@nobackend.test', PW.nina), '-ERR [SYS/TEMP] No mail server is configured for your domain; try again later');
  assert.equal(await tryLogin('SMTP', st.port('smtp-i'), 'implicit', 'nina@nobackend.test', PW.nina), '454 4.7.0 No mail server is configured for this account; try again later');
  const r = await curl(curlArgs('IMAP', st.port('imap-s'), 'nina@nobackend.test', PW.nina, { mech: 'PLAIN' }));
  assert.notEqual(r.code, 0);
  assert.match(r.out, /NO \[UNAVAILABLE\] No mail server is configured/);
});

test('B1 the relayed session is real: curl over the proxied session fetches the seed message Dovecot holds', async () => {
  const r = await curl(curlArgs('IMAP', st.port('imap-s'), 'alice', PW.alice, { mech: 'PLAIN' }));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /policy-seed-body/);
});

// Last: Dovecot's auth penalty for the failed master logins slows later logins from 127.0.0.1.
test('B1 backend refuses the master login (wrong master password at Dovecot): a temporary error that says so', async () => {
  assert.equal(await tryLogin('IMAP', st.port('imap-i'), 'implicit', 'bob@badmaster.test', PW.bob), 'L NO [UNAVAILABLE] The mail server refused the session; try again later');
  assert.match(await tryLogin('POP3', st.port('pop-i'), 'implicit', 'bob@badmaster.test', PW.bob), /^-ERR \[SYS\/TEMP\] /);
});
