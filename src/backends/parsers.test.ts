// B1: the backend-side parsers (IMAP login responses, POP3 status lines, SMTP replies) against
// scripted servers: a malformed-input table (each row says why) and fast-check fuzzing (any
// server bytes give an outcome value, never an exception or a hang). Also the value encoders
// (xtext, IMAP quoting), the login plan and the loop guard's address matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import fc from 'fast-check';
import { resolveDomain } from '../settings/effective.js';
import type { CgValue } from '../settings/format/types.js';
import { imapLogin, imapQuoted, type StepOutcome } from './imap.js';
import { planLogin, plainMessage } from './login-plan.js';
import { pointsAtListener } from './loop.js';
import { pop3Login } from './pop3.js';
import { readReply, smtpPrepare, xclientAddr, xtext } from './smtp.js';
import { clientInfo, request } from './test/helpers.js';
import { LineChannel } from './wire.js';

/** A "server" that has already sent `data` and then closed; what we write is kept in `writes`
 *  (one entry per write call) or dropped. */
function scripted(data: string | Buffer, writes?: string[]): LineChannel {
  const d = new Duplex({ read() { /* pushed below */ }, write(c: Buffer, _e, cb) { writes?.push(c.toString('latin1')); cb(); } });
  d.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  d.push(null);
  return new LineChannel(d as unknown as Socket);
}

function plan(settings: Record<string, CgValue> = {}, password?: string) {
  const p = planLogin(request('IMAP', 'alice', password ? { password } : {}), resolveDomain({ BackendMasterUser: 'master', BackendMasterPassword: 'mpw', ...settings }, 'x').values);
  assert.ok(p.ok);
  return p.plan;
}

const common = () => ({ client: clientInfo(), deadline: Date.now() + 2000, handshakeTimeoutMs: 1000, token: 'mw-selftoken' });
const G = '* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN SASL-IR] ready\r\n';
/** With ID (pipelined with the login), and with ID but no SASL-IR (step by step). */
const GI = '* OK [CAPABILITY IMAP4rev1 ID AUTH=PLAIN SASL-IR] ready\r\n';
const GN = '* OK [CAPABILITY IMAP4rev1 ID AUTH=PLAIN] ready\r\n';
const X = '+OK [XCLIENT] Dovecot ready.\r\n';

test('B1 IMAP login responses: malformed-input table', async () => {
  const rows: Array<[string, StepOutcome['status'], string]> = [
    ['', 'unavailable', 'closed before the greeting'],
    ['* BYE too busy\r\n', 'unavailable', 'greeting BYE: the backend is overloaded'],
    ['* PREAUTH hi\r\n', 'unavailable', 'PREAUTH would be a session for nobody in particular'],
    ['* OK mw-selftoken ready\r\n', 'unavailable', 'our own banner: relay loop'],
    ['HTTP/1.1 400 Bad Request\r\n', 'unavailable', 'not an IMAP server at all'],
    [`${G}MW1 NO [AUTHENTICATIONFAILED] no\r\n`, 'refused', 'the backend refused the login'],
    [`${G}MW1 NO [UNAVAILABLE] later\r\n`, 'unavailable', 'RFC 5530 UNAVAILABLE is the backend\'s trouble, not the user\'s'],
    [`${G}MW1 BAD what\r\n`, 'refused', 'BAD to our login command'],
    [`${G}* BYE shutting down\r\n`, 'unavailable', 'BYE while waiting for the login reply'],
    [`${G}MW7 OK wrong tag\r\n`, 'unavailable', 'a tagged reply that is not ours'],
    [`${G}+ go ahead\r\n`, 'unavailable', 'a continuation we never asked for'],
    [`${G}* X {99999999}\r\n`, 'unavailable', 'a literal larger than any login exchange'],
    [`${G}${'* spam\r\n'.repeat(300)}`, 'unavailable', 'an endless stream of untagged lines'],
    [`${G}MW1 OK [CAPABILITY IMAP4rev1 IDLE`, 'unavailable', 'the line never ends (closed mid-line)'],
    ['* OK [CAPABILITY IMAP4rev1] no plain\r\n', 'unavailable', 'the master login needs AUTH=PLAIN'],
    [`${G}* X {5}\r\nab\r\n)\r\nMW1 OK [CAPABILITY IMAP4rev1 IDLE] in\r\n`, 'ok', 'a literal inside an untagged line is skipped correctly'],
    [`${GI}* ID NIL\r\nMW1 OK\r\nMW2 OK [CAPABILITY IMAP4rev1] in\r\n`, 'ok', 'pipelined ID and login: both tagged replies in order'],
    [`${GI}MW1 BAD no ID here\r\nMW2 OK [CAPABILITY IMAP4rev1] in\r\n`, 'ok', 'ID is advisory: its refusal does not stop the login'],
    [`${GI}MW2 OK [CAPABILITY IMAP4rev1] in\r\n`, 'unavailable', 'the login answered before ID: not the order we sent them in'],
    [`${GI}* ID NIL\r\nMW1 OK\r\nMW2 NO [AUTHENTICATIONFAILED] no\r\n`, 'refused', 'pipelined login refused after ID'],
    [`${GI}* BYE bye\r\n`, 'unavailable', 'BYE instead of the ID reply'],
    [`${GN}MW1 OK\r\n+ \r\nMW2 OK [CAPABILITY IMAP4rev1] in\r\n`, 'ok', 'no SASL-IR: the continuation, then the reply'],
    [`${GN}MW1 OK\r\nMW2 NO [AUTHENTICATIONFAILED] no\r\n`, 'refused', 'no SASL-IR: refused instead of a continuation'],
    [`${GN}MW1 OK\r\n`, 'unavailable', 'no SASL-IR: closed instead of the continuation'],
  ];
  for (const [script, status, why] of rows) {
    const r = await imapLogin(scripted(script), { ...common(), plan: plan() });
    assert.equal(r.status, status, `${why}: ${JSON.stringify(r)}`);
  }
  const ok = await imapLogin(scripted(`${G}MW1 OK done\r\n* CAPABILITY IMAP4rev1 ID\r\nMW2 OK\r\n`), { ...common(), plan: plan() });
  assert.deepEqual(ok, { status: 'ok', capabilities: ['IMAP4rev1', 'ID'] }, 'capabilities asked for when the OK has none');
});

test('B1 POP3 login responses: malformed-input table', async () => {
  const rows: Array<[string, Record<string, CgValue>, StepOutcome['status'], string]> = [
    ['', {}, 'unavailable', 'closed before the greeting'],
    ['-ERR go away\r\n', {}, 'unavailable', 'negative greeting'],
    ['+OK mw-selftoken\r\n', {}, 'unavailable', 'our own banner: relay loop'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [AUTH] no\r\n', {}, 'refused', 'AUTH PLAIN refused'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [SYS/TEMP] try later\r\n', {}, 'unavailable', 'RFC 3206 SYS/TEMP is temporary'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [IN-USE] locked\r\n', {}, 'unavailable', 'RFC 3206 IN-USE: the mailbox is locked for now'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n', {}, 'unavailable', 'CAPA never ends'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\nwhat\r\n', {}, 'unavailable', 'neither +OK nor -ERR'],
    ['+OK hi\r\n-ERR\r\n', {}, 'unavailable', 'no CAPA and the master login needs PLAIN'],
    ['+OK hi\r\n+OK\r\n-ERR [AUTH] no\r\n', { BackendMasterStyle: 'separator' }, 'refused', 'PASS refused'],
    ['+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n', {}, 'ok', 'the normal master login'],
    [`${X}+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n`, {}, 'ok', 'Dovecot: XCLIENT, CAPA and AUTH pipelined, three replies in order'],
    [`${X}-ERR not trusted\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n`, {}, 'ok', 'XCLIENT refused (we are not trusted): the login goes on'],
    [`${X}+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [AUTH] no\r\n`, {}, 'refused', 'pipelined AUTH refused'],
    [`${X}+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n-ERR [SYS/TEMP] later\r\n`, {}, 'unavailable', 'pipelined AUTH: temporary failure'],
    [`${X}+OK\r\n+OK\r\nSASL LOGIN\r\n.\r\n-ERR unsupported\r\n`, {}, 'unavailable', 'no SASL PLAIN: the master login cannot work'],
    [`${X}+OK\r\n+OK\r\nSASL LOGIN\r\n.\r\n-ERR unsupported\r\n+OK\r\n+OK in\r\n`, { BackendLogin: 'passthrough' }, 'ok', 'no SASL PLAIN: pass-through falls back to USER/PASS'],
    [`${X}+OK\r\n+OK\r\nSASL PLAIN\r\n`, {}, 'unavailable', 'pipelined CAPA never ends'],
    [`${X}what\r\n`, {}, 'unavailable', 'XCLIENT answered with neither +OK nor -ERR'],
    [`${X}+OK\r\n+OK\r\n+OK in\r\n`, { BackendMasterStyle: 'separator' }, 'ok', 'separator style: XCLIENT, USER and PASS pipelined'],
    [`${X}+OK\r\n-ERR [AUTH] no such user\r\n-ERR no\r\n`, { BackendMasterStyle: 'separator' }, 'refused', 'pipelined USER refused'],
    [`${X}+OK\r\n+OK\r\n-ERR [IN-USE] locked\r\n`, { BackendMasterStyle: 'separator' }, 'unavailable', 'pipelined PASS: mailbox in use'],
    [`${X}+OK\r\n+OK\r\n`, { BackendMasterStyle: 'separator' }, 'unavailable', 'closed before the PASS reply'],
  ];
  for (const [script, settings, status, why] of rows) {
    const password = settings.BackendLogin === 'passthrough' ? 'alice-pw' : undefined;
    const r = await pop3Login(scripted(script), { ...common(), plan: plan(settings, password) });
    assert.equal(r.status, status, `${why}: ${JSON.stringify(r)}`);
  }
});

test('B1 login commands: pipelined in one write when no continuation is needed, step by step otherwise', async () => {
  const w: string[] = [];
  assert.equal((await imapLogin(scripted(`${GI}MW1 OK\r\nMW2 OK [CAPABILITY IMAP4rev1] in\r\n`, w), { ...common(), plan: plan() })).status, 'ok');
  assert.equal(w.length, 1, w.join('|'));
  assert.match(w[0] ?? '', /^MW1 ID \("name" "Mailward" "x-originating-ip" "192\.0\.2\.10" "x-originating-port" "\d+" "x-connected-ip" "127\.0\.0\.1" "x-connected-port" "1143" "x-session-id" "test\d+"\)\r\nMW2 AUTHENTICATE PLAIN /);
  assert.equal(Buffer.from(/PLAIN (\S+)\r\n$/.exec(w[0] ?? '')?.[1] ?? '', 'base64').toString(), 'alice@example.com\0master\0mpw');

  w.length = 0;
  assert.equal((await imapLogin(scripted(`${GN}MW1 OK\r\n+ \r\nMW2 OK [CAPABILITY IMAP4rev1] in\r\n`, w), { ...common(), plan: plan() })).status, 'ok');
  assert.equal(w.length, 3, w.join('|'));
  assert.equal(w[1], 'MW2 AUTHENTICATE PLAIN\r\n');

  // LOGIN with a password that needs a literal (a line break) cannot be pipelined.
  w.length = 0;
  const lit = planLogin(request('IMAP', 'alice', { password: 'a\r\nb' }), resolveDomain({ BackendLogin: 'passthrough' }, 'x').values);
  assert.ok(lit.ok);
  const r = await imapLogin(scripted('* OK [CAPABILITY IMAP4rev1] ready\r\n+ go\r\nMW1 OK [CAPABILITY IMAP4rev1] in\r\n', w), { ...common(), plan: lit.plan });
  assert.equal(r.status, 'ok');
  assert.equal(w[0], 'MW1 LOGIN "alice@example.com" {4}\r\n');

  w.length = 0;
  assert.equal((await pop3Login(scripted(`${X}+OK\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n`, w), { ...common(), plan: plan() })).status, 'ok');
  assert.equal(w.length, 1, w.join('|'));
  assert.match(w[0] ?? '', /^XCLIENT ADDR=192\.0\.2\.10 PORT=\d+ SESSION=test\d+\r\nCAPA\r\nAUTH PLAIN \S+\r\n$/);
  w.length = 0;
  assert.equal((await pop3Login(scripted('+OK hi\r\n+OK\r\nSASL PLAIN\r\n.\r\n+OK in\r\n', w), { ...common(), plan: plan() })).status, 'ok');
  assert.deepEqual(w.map((x) => x.slice(0, 10)), ['CAPA\r\n', 'AUTH PLAIN'], 'a server without [XCLIENT] is not known to read ahead');
  // A line break in a USER/PASS field is refused before anything is sent.
  w.length = 0;
  const sepPlan = plan({ BackendMasterStyle: 'separator', BackendMasterPassword: 'a\nb' });
  assert.equal((await pop3Login(scripted(`${X}+OK\r\n+OK\r\n+OK\r\n`, w), { ...common(), plan: sepPlan })).status, 'refused');
  assert.deepEqual(w, []);
});

test('B1 backend reads: one deadline for a login times every read, a later read past it fails at once, a new deadline re-arms', async () => {
  const d = new Duplex({ read() { /* fed below */ }, write(_c, _e, cb) { cb(); } });
  const ch = new LineChannel(d as unknown as Socket);
  try {
    const deadline = Date.now() + 100;
    setTimeout(() => d.push('first line\r\n'), 20);
    assert.deepEqual(await ch.readLine(deadline), { ok: true, line: 'first line' }, 'data before the deadline');
    const t0 = Date.now();
    assert.deepEqual(await ch.readLine(deadline), { ok: false, reason: 'time-out' }, 'the same deadline, a silent backend');
    assert.ok(Date.now() - t0 < 1000);
    const t1 = Date.now();
    assert.deepEqual(await ch.readLine(deadline), { ok: false, reason: 'time-out' }, 'past the deadline: at once');
    assert.ok(Date.now() - t1 < 50);
    setTimeout(() => d.push('later\r\n'), 20);
    assert.deepEqual(await ch.readLine(Date.now() + 1000), { ok: true, line: 'later' }, 'a new deadline is armed again');
  } finally {
    ch.destroy();
  }
});

test('B1 SMTP replies and XCLIENT preparation: malformed-input table', async () => {
  const replies: Array<[string, boolean, string]> = [
    ['250 ok\r\n', true, 'single line'],
    ['250-a\r\n250-b\r\n250 c\r\n', true, 'multi-line'],
    ['250\r\n', true, 'code alone (RFC 5321 allows no text)'],
    ['250-a\r\n251 b\r\n', false, 'codes differ between lines'],
    ['25 ok\r\n', false, 'two-digit code'],
    ['650 ok\r\n', false, 'no such reply class'],
    ['250xok\r\n', false, 'bad separator'],
    ['250-a\r\n', false, 'closed inside a multi-line reply'],
    [`${'250-x\r\n'.repeat(200)}250 y\r\n`, false, 'more lines than any real reply'],
    [`250 ${'x'.repeat(5000)}\r\n`, false, 'line longer than the reply limit'],
  ];
  for (const [script, ok, why] of replies) {
    const r = await readReply(scripted(script), Date.now() + 1000);
    assert.equal(r.ok, ok, why);
  }
  const EHLO = '250-backend\r\n250-XCLIENT NAME ADDR PORT LOGIN HELO\r\n250 8BITMIME\r\n';
  const prep: Array<[string, StepOutcome['status'], string]> = [
    ['554 no\r\n', 'unavailable', 'greeting refusal'],
    ['220 mw-selftoken ESMTP\r\n', 'unavailable', 'our own banner: relay loop'],
    ['220 hi\r\n250-backend\r\n250 8BITMIME\r\n', 'unavailable', 'no XCLIENT offered to us'],
    ['220 hi\r\n250-backend\r\n250 XCLIENT NAME ADDR\r\n', 'unavailable', 'XCLIENT without LOGIN'],
    [`220 hi\r\n${EHLO}550 5.7.0 not authorized\r\n`, 'unavailable', 'XCLIENT refused: our address is not authorized'],
    [`220 hi\r\n${EHLO}220 hi again\r\n${EHLO}`, 'ok', 'XCLIENT accepted: fresh greeting then EHLO'],
  ];
  for (const [script, status, why] of prep) {
    const r = await smtpPrepare(scripted(script), { ...common(), user: 'alice@example.com', mode: 'xclient', helo: 'c', ourName: 'mw' });
    assert.equal(r.status, status, `${why}: ${JSON.stringify(r)}`);
  }
  const login = await smtpPrepare(scripted('220 hi\r\n250-b\r\n250 AUTH PLAIN\r\n535 5.7.8 no\r\n'), { ...common(), user: 'alice@example.com', plan: plan(), mode: 'relay-login', ourName: 'mw' });
  assert.equal(login.status, 'refused', '535 to the relay login');
});

test('B1 backend parsers fuzz: any server bytes give an outcome, never an exception or a hang', async () => {
  const prefix = fc.constantFrom('', G, GI, GN, X, `${X}+OK\r\n+OK\r\n`, '+OK hi\r\n', '220 hi\r\n', '220 hi\r\n250-b\r\n250 XCLIENT LOGIN ADDR\r\n');
  await fc.assert(fc.asyncProperty(prefix, fc.uint8Array({ maxLength: 400 }), async (p, bytes) => {
    const data = Buffer.concat([Buffer.from(p, 'latin1'), Buffer.from(bytes)]);
    const outs = [
      await imapLogin(scripted(data), { ...common(), plan: plan() }),
      await pop3Login(scripted(data), { ...common(), plan: plan() }),
      await smtpPrepare(scripted(data), { ...common(), user: 'a@b', mode: 'xclient', helo: 'h', ourName: 'mw' }),
      await smtpPrepare(scripted(data), { ...common(), user: 'a@b', plan: plan(), mode: 'relay-login', ourName: 'mw' }),
    ];
    for (const o of outs) assert.ok(['ok', 'refused', 'unavailable'].includes(o.status));
  }), { numRuns: 400 });
});

test('B1 XCLIENT values: xtext keeps every value one attribute; IPv6 gets its prefix', () => {
  assert.equal(xtext('alice@example.com'), 'alice@example.com');
  assert.equal(xtext('a b=c+d\r\nXCLIENT LOGIN=root'), 'a+20b+3Dc+2Bd+0D+0AXCLIENT+20LOGIN+3Droot');
  assert.equal(xtext('é'), '+C3+A9');
  assert.equal(xclientAddr('192.0.2.1'), '192.0.2.1');
  assert.equal(xclientAddr('::ffff:192.0.2.1'), '192.0.2.1');
  assert.equal(xclientAddr('2001:db8::1'), 'IPV6:2001:db8::1');
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => { assert.match(xtext(s), /^[\x21-\x7e]*$/); }));
});

test('B1 IMAP quoting: quoted when safe, a literal otherwise', () => {
  assert.equal(imapQuoted('alice@example.com'), '"alice@example.com"');
  assert.equal(imapQuoted('pa"ss\\word'), '"pa\\"ss\\\\word"');
  assert.equal(imapQuoted('line\r\nbreak'), null);
  assert.equal(imapQuoted('caf\u00e9'), null);
});

test('B1 login plan: pass-through needs a clear password; master styles; NUL refused', () => {
  const dom = (s: Record<string, CgValue>) => resolveDomain(s, 'x').values;
  assert.equal(planLogin(request('IMAP'), dom({ BackendLogin: 'passthrough' })).ok, false);
  assert.equal(planLogin(request('IMAP'), dom({ BackendLogin: 'master' })).ok, false, 'master without a master user');
  const sep = planLogin(request('IMAP'), dom({ BackendMasterUser: 'm', BackendMasterPassword: 'p', BackendMasterStyle: 'separator', BackendMasterSeparator: '%' }));
  assert.ok(sep.ok && sep.plan.method.kind === 'master-separator' && sep.plan.method.login === 'alice@example.com%m');
  const az = planLogin(request('IMAP'), dom({ BackendMasterUser: 'm', BackendMasterPassword: 'p' }));
  assert.ok(az.ok);
  assert.equal(plainMessage(az.plan)?.toString(), 'alice@example.com\0m\0p');
  const nul = planLogin(request('IMAP', 'alice', { password: 'a\0b' }), dom({ BackendLogin: 'passthrough' }));
  assert.ok(nul.ok);
  assert.equal(plainMessage(nul.plan), null);
  // The plan never shows the password when logged or printed.
  assert.ok(!JSON.stringify(az.plan).includes('"p"'));
});

test('B1 loop guard: address and port matching (wildcards, IPv4-mapped, other ports)', () => {
  const L = [{ address: '0.0.0.0', port: 1143 }, { address: '192.0.2.5', port: 1587 }];
  assert.equal(pointsAtListener('127.0.0.1', 1143, L), true);
  assert.equal(pointsAtListener('127.0.0.2', 1143, L), true, 'the whole loopback range is local');
  assert.equal(pointsAtListener('::ffff:127.0.0.1', 1143, L), true);
  assert.equal(pointsAtListener('127.0.0.1', 143, L), false, 'another port is another server');
  assert.equal(pointsAtListener('192.0.2.5', 1587, L), true);
  assert.equal(pointsAtListener('192.0.2.6', 1587, L), false);
  assert.equal(pointsAtListener('198.51.100.1', 1143, L), false, 'a remote address is not us');
});
