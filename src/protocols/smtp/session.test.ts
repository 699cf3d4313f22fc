// SMTP submission transcripts (RFC 6409, 4954, 3207, 2034) with a fake connector and a scripted
// backend MTA: every command, every authentication outcome and every backend outcome, mapped to
// its reply. A5, A7, A8, N2, B1, B2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { configureLogging, type LogRecord } from '../../core/log.js';
import {
  b64, cramResponse, deps, engineDouble, FakeConnector, info, newSession, NON_CLIENT, run, ScriptedMta,
} from './test/harness.js';

const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { SMTP: 'all', SASL: 'all' } });

let mta: ScriptedMta;
before(async () => { mta = await new ScriptedMta().start(); });
after(async () => { await mta.stop(); });

const PLAIN_ALICE = b64('\0alice\0alice-pass');
const secureInfo = info({ secure: true, startTlsAvailable: false });
const never = new FakeConnector(async () => ({ status: 'unavailable', reason: 'not used' }));

function ehloBlock(replies: string[]): string[] {
  return replies.filter((r) => r.startsWith('250'));
}

test('A8 greeting and EHLO on a clear tls-only listener: STARTTLS and no clear-text AUTH', async () => {
  const t = await run(newSession(deps(never)), ['EHLO client.example']);
  assert.match(t.replies[0] ?? '', /^220 mx\.example\.com ESMTP .*mw-testtoken$/);
  const e = ehloBlock(t.replies);
  assert.equal(e[0], '250-mx.example.com Hello client.example');
  for (const k of ['PIPELINING', 'SIZE 52428800', '8BITMIME', 'ENHANCEDSTATUSCODES', 'STARTTLS']) assert.ok(e.some((l) => l.slice(4) === k), k);
  const auth = e.find((l) => l.slice(4).startsWith('AUTH ')) ?? '';
  assert.ok(auth.includes('CRAM-MD5') && auth.includes('SCRAM-SHA-256'), auth);
  assert.ok(!/\b(PLAIN|LOGIN)\b/.test(auth), auth);
  assert.ok(!e.some((l) => l.includes('CHUNKING')));
  assert.match(e.at(-1) ?? '', /^250 /);
});

test('A8 over TLS: PLAIN and LOGIN advertised, STARTTLS not; listener "always": PLAIN on a clear link', async () => {
  const t = await run(newSession(deps(never), secureInfo), ['EHLO c']);
  const auth = t.replies.find((l) => l.slice(4).startsWith('AUTH ')) ?? '';
  assert.match(auth, /\bPLAIN\b/);
  assert.match(auth, /\bLOGIN\b/);
  assert.ok(!t.replies.some((l) => l.includes('STARTTLS')));
  const always = await run(newSession(deps(never), info({ clearTextLogin: 'always' })), ['EHLO c']);
  assert.match(always.replies.find((l) => l.includes('AUTH ')) ?? '', /\bPLAIN\b/);
});

test('A8 AUTH PLAIN / LOGIN before TLS on a tls-only listener: 538 5.7.11', async () => {
  const t = await run(newSession(deps(never)), ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'AUTH LOGIN']);
  assert.deepEqual(t.replies.slice(-2).map((r) => r.slice(0, 10)), ['538 5.7.11', '538 5.7.11']);
  assert.equal(never.requests.length, 0);
});

test('MAIL, RCPT, DATA before AUTH: 530 5.7.0', async () => {
  const t = await run(newSession(deps(never), secureInfo), ['EHLO c', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA']);
  assert.deepEqual(t.replies.slice(-3).map((r) => r.slice(0, 9)), ['530 5.7.0', '530 5.7.0', '530 5.7.0']);
});

test('B1 AUTH PLAIN with initial response, then MAIL/RCPT/DATA relayed to the backend and QUIT', async () => {
  const c = FakeConnector.toMta(mta);
  const before = mta.lines.length;
  const t = await run(newSession(deps(c), secureInfo), [
    'EHLO client.example', `AUTH PLAIN ${PLAIN_ALICE}`,
    'MAIL FROM:<alice@example.com> BODY=8BITMIME SIZE=100 AUTH=<>', 'RCPT TO:<bob@example.com>', 'DATA',
    'Subject: hi', '', '..leading dot stays stuffed', 'body', '.', 'QUIT',
  ]);
  assert.deepEqual(t.replies.slice(-6).map((r) => r.slice(0, 3)), ['235', '250', '250', '354', '250', '221']);
  assert.ok(t.replies.includes('235 2.7.0 Authentication successful'));
  assert.ok(t.replies.includes('250 2.0.0 Ok: queued as TEST'));
  assert.match(t.replies.at(-1) ?? '', /^221 2\.0\.0/);
  assert.ok(t.closed);
  const got = mta.lines.slice(before);
  assert.deepEqual(got, ['MAIL FROM:<alice@example.com> BODY=8BITMIME SIZE=100', 'RCPT TO:<bob@example.com>', 'DATA',
    'Subject: hi', '', '..leading dot stays stuffed', 'body', '.', 'QUIT']);
  const req = c.requests[0];
  assert.equal(req?.service, 'SMTP');
  assert.equal(req?.helo, 'client.example');
  assert.equal(req?.login.account, 'alice');
  assert.equal(req?.password, 'alice-pass', 'a clear-text mechanism hands the password over for pass-through');
});

test('A5 AUTH PLAIN without initial response (334 then data), and AUTH LOGIN with continuations', async () => {
  const c = FakeConnector.toMta(mta);
  const t = await run(newSession(deps(c), secureInfo), ['EHLO c', 'AUTH PLAIN', PLAIN_ALICE]);
  assert.deepEqual(t.replies.slice(-2), ['334 ', '235 2.7.0 Authentication successful']);
  const l = await run(newSession(deps(c), secureInfo), ['EHLO c', 'AUTH LOGIN', b64('alice'), b64('alice-pass')]);
  assert.deepEqual(l.replies.slice(-3), [`334 ${b64('Username:')}`, `334 ${b64('Password:')}`, '235 2.7.0 Authentication successful']);
  // Python's smtplib sends the user name as the initial response.
  const py = await run(newSession(deps(c), secureInfo), ['EHLO c', `AUTH LOGIN ${b64('alice')}`, b64('alice-pass')]);
  assert.deepEqual(py.replies.slice(-2), [`334 ${b64('Password:')}`, '235 2.7.0 Authentication successful']);
});

test('A2 AUTH CRAM-MD5 over a clear link: secure mechanism allowed, no password handed to the connector', async () => {
  const c = FakeConnector.toMta(mta);
  const s = newSession(deps(c));
  const t = await run(s, ['EHLO c', 'AUTH CRAM-MD5']);
  const ch = (t.replies.at(-1) ?? '').slice(4);
  const r = await s.onLine(Buffer.from(cramResponse('alice', 'alice-pass', ch)));
  assert.deepEqual(r[0], { type: 'write', data: '235 2.7.0 Authentication successful\r\n' });
  assert.equal(c.requests.at(-1)?.password, undefined);
  s.onClose();
});

test('AUTH "=" empty initial response (an empty PLAIN message is malformed), "*" cancel, bad base64', async () => {
  const t = await run(newSession(deps(never), secureInfo), ['EHLO c', 'AUTH PLAIN =', 'AUTH LOGIN', '*', 'AUTH PLAIN', '!!!notbase64']);
  assert.deepEqual(t.replies.slice(-5).map((r) => r.slice(0, 9)), ['501 5.5.2', '334 VXNlc', '501 5.7.0', '334 ', '501 5.5.2']);
});

test('H2/A1 bad credentials: 535 5.7.8, and the third failure closes with 421', async () => {
  const bad = b64('\0alice\0wrong');
  const t = await run(newSession(deps(never), secureInfo), ['EHLO c', `AUTH PLAIN ${bad}`, `AUTH PLAIN ${bad}`, `AUTH PLAIN ${bad}`, 'NOOP']);
  assert.deepEqual(t.replies.slice(-4).map((r) => r.slice(0, 9)), ['535 5.7.8', '535 5.7.8', '535 5.7.8', '421 4.7.0']);
  assert.ok(t.closed);
});

test('A7, N2 and the other engine outcomes: each mapped to its reply', async () => {
  const cases: Array<[string, string, boolean, boolean]> = [
    ['unknown-user', '535 5.7.8', false, true],
    ['locked', '535 5.7.8', false, true],
    ['disabled', '525 5.7.13', false, true],
    ['tempfail', '454 4.7.0', false, true],
  ];
  for (const [user, reply, closes, useSecure] of cases) {
    const t = await run(newSession(deps(never), useSecure ? secureInfo : info()), ['EHLO c', `AUTH PLAIN ${b64(`\0${user}\0pw`)}`]);
    assert.equal(t.replies.at(-1)?.slice(0, reply.length), reply, user);
    assert.equal(t.closed, closes, user);
  }
  // A7: Secure Method Required, a clear-text password over a clear link (listener allows clear text).
  const a7 = await run(newSession(deps(never), info({ clearTextLogin: 'always' })), ['EHLO c', `AUTH PLAIN ${b64('\0secure\0secure-pass')}`]);
  assert.match(a7.replies.at(-1) ?? '', /^538 5\.7\.11 /);
  // N2: a non-client address is refused and disconnected.
  const n2 = await run(newSession(deps(never), { ...secureInfo, remoteAddress: NON_CLIENT }), ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'NOOP']);
  assert.match(n2.replies.at(-1) ?? '', /^554 5\.7\.1 /);
  assert.ok(n2.closed);
});

test('unknown or hidden mechanism: 504 5.5.4; AUTH syntax: 501; AUTH before EHLO or after HELO: 503', async () => {
  const t = await run(newSession(deps(never), secureInfo), ['AUTH PLAIN', 'HELO c', 'AUTH PLAIN', 'EHLO c', 'AUTH NTLM', 'AUTH FOO', 'AUTH', 'AUTH PLAIN a b', 'AUTH P/LAIN']);
  assert.deepEqual(t.replies.slice(1).map((r) => r.slice(0, 9)), ['503 5.5.1', '250 mx.ex', '503 5.5.1',
    ...ehloBlock(t.replies).slice(1).map((r) => r.slice(0, 9)), '504 5.5.4', '504 5.5.4', '501 5.5.4', '501 5.5.4', '501 5.5.4']);
});

test('B2 and backend failures after a good AUTH: 454 4.7.0, and the session stays unauthenticated', async () => {
  for (const [answer, text] of [
    [{ status: 'no-backend' }, /No mail server is configured/],
    [{ status: 'unavailable', reason: 'x' }, /not available/],
    [{ status: 'refused', reason: 'x' }, /refused the session/],
  ] as const) {
    const c = new FakeConnector(async () => answer);
    const t = await run(newSession(deps(c), secureInfo), ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'MAIL FROM:<a@b>']);
    assert.match(t.replies.at(-2) ?? '', /^454 4\.7\.0 /);
    assert.match(t.replies.at(-2) ?? '', text);
    assert.match(t.replies.at(-1) ?? '', /^530 5\.7\.0/);
  }
});

test('T1 STARTTLS: 220 then the upgrade; state (EHLO) forgotten afterwards; refusals', async () => {
  const s = newSession(deps(never));
  const t = await run(s, ['EHLO c', 'STARTTLS']);
  assert.equal(t.replies.at(-1), '220 2.0.0 Ready to start TLS');
  assert.ok(t.starttls);
  assert.deepEqual(t.effects.at(-1), { type: 'starttls' });
  assert.deepEqual(await s.onTlsStarted(), []);
  const after = await s.onLine(Buffer.from('AUTH PLAIN'));
  assert.match(String(after[0]?.type === 'write' ? after[0].data : ''), /^503 5\.5\.1/);
  const no = await run(newSession(deps(never), info({ startTlsAvailable: false })), ['STARTTLS', 'STARTTLS now']);
  assert.deepEqual(no.replies.slice(1).map((r) => r.slice(0, 9)), ['454 4.7.0', '501 5.5.4']);
  const again = await run(newSession(deps(never), secureInfo), ['STARTTLS']);
  assert.match(again.replies.at(-1) ?? '', /^503 5\.5\.1/);
});

test('early talker: input before the greeting gets 554 and the connection closes', async () => {
  const s = newSession(deps(never), info(), { greetingDelayMs: 50 });
  const greeting = s.start();
  const r = await s.onLine(Buffer.from('EHLO eager'));
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^554 5\.5\.0 /);
  assert.equal(r.at(-1)?.type, 'close');
  assert.deepEqual(await greeting, []);
});

test('early talker flagged by the listener (input read while the greeting was being made): 554, no greeting', async () => {
  const i = info();
  const s = newSession(deps(never), i, { greetingDelayMs: 30 });
  const greeting = s.start();
  i.earlyInput = true;
  const r = await greeting;
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^554 5\.5\.0 /);
  assert.equal(r.at(-1)?.type, 'close');
  assert.deepEqual(await s.onLine(Buffer.from('EHLO x')), []);
});

test('HTTP request on the SMTP port: 554 5.7.0 and close', async () => {
  for (const l of ['GET / HTTP/1.1', 'POST /submit HTTP/1.0', 'Host: mx.example.com']) {
    const t = await run(newSession(deps(never)), [l, 'EHLO c']);
    assert.match(t.replies.at(-1) ?? '', /^554 5\.7\.0 /, l);
    assert.ok(t.closed);
  }
});

test('RSET, NOOP, HELP, VRFY, EXPN, unknown commands, BDAT, QUIT before AUTH', async () => {
  const t = await run(newSession(deps(never)), ['RSET', 'NOOP', 'HELP', 'VRFY alice', 'EXPN list', 'XCLIENT LOGIN=x', 'RSET x', 'QUIT']);
  assert.deepEqual(t.replies.slice(1).map((r) => r.slice(0, 9)), ['250 2.0.0', '250 2.0.0', '214 2.0.0', '502 5.5.1', '502 5.5.1', '500 5.5.2', '501 5.5.4', '221 2.0.0']);
  assert.ok(t.closed);
  const b = await run(newSession(deps(never)), ['BDAT 10 LAST', 'NOOP']);
  assert.match(b.replies.at(-1) ?? '', /^554 5\.5\.1/);
  assert.ok(b.closed);
});

test('too many bad commands: 421 4.7.0 and close after 10', async () => {
  const t = await run(newSession(deps(never)), Array.from({ length: 15 }, () => 'BOGUS'));
  assert.equal(t.replies.filter((r) => r.startsWith('500')).length, 10);
  assert.match(t.replies.at(-1) ?? '', /^421 4\.7\.0/);
  assert.ok(t.closed);
});

test('line too long: 500 5.5.6; a command line over the limit and an over-long AUTH continuation', async () => {
  const s = newSession(deps(never), secureInfo);
  await s.start();
  const r = await s.onLineTooLong();
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^500 5\.5\.6/);
  const t = await run(newSession(deps(never)), [`NOOP ${'x'.repeat(3000)}`]);
  assert.match(t.replies.at(-1) ?? '', /^500 5\.5\.6/);
});

test('B1 after AUTH: XCLIENT and other unknown commands are answered here, never forwarded; EHLO hides backend keywords', async () => {
  const c = FakeConnector.toMta(mta);
  const before = mta.lines.length;
  const t = await run(newSession(deps(c), secureInfo), [
    'EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'XCLIENT LOGIN=mallory', 'XFORWARD ADDR=1.2.3.4', 'ETRN x', 'EHLO again.example',
    'AUTH PLAIN x', 'STARTTLS', 'VRFY bob', 'RSET', 'NOOP', 'BDAT 5',
  ]);
  const got = mta.lines.slice(before);
  assert.deepEqual(got, ['EHLO again.example', 'RSET', 'NOOP']);
  const afterAuth = t.replies.slice(t.replies.indexOf('235 2.7.0 Authentication successful') + 1);
  assert.deepEqual(afterAuth.slice(0, 3).map((r) => r.slice(0, 9)), ['500 5.5.2', '500 5.5.2', '500 5.5.2']);
  const ehlo = afterAuth.filter((r) => r.startsWith('250'));
  assert.equal(ehlo[0], '250-mx.example.com Hello again.example');
  assert.ok(!ehlo.some((l) => /AUTH|STARTTLS|XCLIENT|CHUNKING/.test(l)), ehlo.join('|'));
  assert.ok(afterAuth.includes('503 5.5.1 Already authenticated'));
  assert.match(t.replies.at(-1) ?? '', /^554 5\.5\.1/);
});

test('B1 envelope parameters: unknown ones 555, bad paths 553/501, backend refusals relayed, SIZE over the limit 552', async () => {
  const c = FakeConnector.toMta(mta);
  const t = await run(newSession(deps(c), secureInfo, undefined), [
    'EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'MAIL FROM:<a@b> RET=FULL', 'MAIL FROM:<a b@c>', 'MAIL FROM:a@b', 'MAIL FROM:<a@b> SIZE=99999999999',
    'MAIL FROM:<>', 'RCPT TO:<>', 'RCPT TO:<x@y> NOTIFY=NEVER', 'RCPT TO:<reject@example.com>', 'DATA x',
  ]);
  const afterAuth = t.replies.slice(t.replies.indexOf('235 2.7.0 Authentication successful') + 1).map((r) => r.slice(0, 9));
  assert.deepEqual(afterAuth, ['555 5.5.4', '553 5.1.3', '501 5.5.4', '552 5.3.4', '250 2.0.0', '553 5.1.3', '555 5.5.4', '550 5.1.1', '501 5.5.4']);
});

test('B1 message over the size limit: DATA aborted at the backend (no final dot), 552 and close', async () => {
  const c = FakeConnector.toMta(mta);
  const s = newSession(deps(c), secureInfo, { maxMessageSize: 100 });
  const before = mta.lines.length;
  const t = await run(s, ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`, 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'x'.repeat(60), 'y'.repeat(60), 'z', '.']);
  assert.match(t.replies.at(-1) ?? '', /^552 5\.3\.4/);
  assert.ok(t.closed);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(!mta.lines.slice(before).includes('.'), 'the backend never saw the end of data');
});

test('B1 backend connection lost while relaying: 421 4.4.2 and close', async () => {
  const c = FakeConnector.toMta(mta);
  const s = newSession(deps(c), secureInfo, { commandTimeoutMs: 1000 });
  await run(s, ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`]);
  mta.dropAll();
  await new Promise((r) => setTimeout(r, 50));
  const r = await s.onLine(Buffer.from('MAIL FROM:<a@b>'));
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^421 4\.4\.2/);
  assert.equal(r.at(-1)?.type, 'close');
});

test('PIPELINING: lines delivered at once are answered in order', async () => {
  const c = FakeConnector.toMta(mta);
  const s = newSession(deps(c), secureInfo);
  await run(s, ['EHLO c', `AUTH PLAIN ${PLAIN_ALICE}`]);
  const all = await Promise.all(['MAIL FROM:<a@b>', 'RCPT TO:<reject@x>', 'RCPT TO:<ok@x>', 'NOOP'].map((l) => s.onLine(Buffer.from(l))));
  const text = all.map((e) => (e[0]?.type === 'write' ? String(e[0].data) : '')).map((x) => x.slice(0, 3));
  assert.deepEqual(text, ['250', '550', '250', '250']);
  s.onClose();
});

test('idle time-out: 421 4.4.2 and close', async () => {
  const s = newSession(deps(never));
  await s.start();
  const r = s.onIdleTimeout();
  assert.match(String(r[0]?.type === 'write' ? r[0].data : ''), /^421 4\.4\.2/);
  assert.equal(r.at(-1)?.type, 'close');
});

test('N2, A7: the engine sees the connection facts (mode SMTP, client address, link security)', async () => {
  const engine = engineDouble();
  await run(newSession(deps(never, {}, engine), secureInfo), ['EHLO c', `AUTH PLAIN ${b64('\0nobody\0x')}`]);
  assert.deepEqual(engine.facts[0], { mode: 'SMTP', client: '192.0.2.50', local: '127.0.0.1', secure: true });
});

test('W4 SMTP logs: the login and the message are logged, the password and SASL data never', async () => {
  records.length = 0;
  const c = FakeConnector.toMta(mta);
  await run(newSession(deps(c), secureInfo), ['EHLO c', `AUTH PLAIN ${b64('\0alice\0wrong-Secret-1')}`, 'AUTH LOGIN', b64('alice'), b64('alice-pass'),
    'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'x', '.', 'QUIT']);
  const text = JSON.stringify(records);
  assert.ok(records.some((r) => r.module === 'SMTP' && r.event === 'smtp.auth.success' && r.account === 'alice@example.com'), text);
  assert.ok(records.some((r) => r.event === 'smtp.message'), text);
  for (const secret of ['alice-pass', 'wrong-Secret-1', b64('alice-pass'), PLAIN_ALICE]) assert.ok(!text.includes(secret), secret);
});
