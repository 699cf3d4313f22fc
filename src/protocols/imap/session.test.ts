// IMAP before login, as transcripts: the session is driven line by line and its effects checked.
// The engine is real (a temporary file store); the backend connector is a recording fake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { dict } from '../../settings/format/types.js';
import { scramClient } from '../../sasl/client/scram.js';
import type { Effect } from '../common/session.js';
import { BAD_COMMAND_LIMIT } from '../common/bad-commands.js';
import { IMAP_MAX_LITERAL } from './limits.js';
import { loginReply, type LoginResult } from './replies.js';
import { ImapSession } from './session.js';
import { HOST, b64, connectionInfo, effectProblem, fixture, kinds, makeSecure, written, type Fixture } from '../common/testing/fixture.js';

type Info = ReturnType<typeof connectionInfo>;

async function open(f: Fixture, over: Partial<Info> = {}): Promise<{ s: ImapSession; info: Info; greeting: string; send: (l: string | Buffer) => Promise<Effect[]> }> {
  const info = connectionInfo('IMAP', over);
  const s = new ImapSession(info, f.deps);
  const g = await s.start();
  const send = async (l: string | Buffer): Promise<Effect[]> => {
    const e = await s.onLine(typeof l === 'string' ? Buffer.from(l, 'utf8') : l);
    assert.equal(effectProblem(e, IMAP_MAX_LITERAL), null);
    return e;
  };
  return { s, info, greeting: written(g), send };
}

/** Over TLS (implicit), where clear-text methods are allowed. */
const TLS: Partial<Info> = { secure: true, startTlsAvailable: false, tls: { protocol: 'TLSv1.3', cipher: 'x', resumed: false, channelBindings: {} } };

function caps(text: string): string[] {
  const m = /\[CAPABILITY ([^\]]*)\]|^\* CAPABILITY (.*)$/m.exec(text);
  return (m?.[1] ?? m?.[2] ?? '').trim().split(' ');
}

test('A4, A8: greeting on a clear tls-only listener carries CAPABILITY with STARTTLS and LOGINDISABLED, no AUTH=PLAIN/LOGIN', async () => {
  const f = await fixture();
  try {
    const { greeting } = await open(f);
    assert.match(greeting, new RegExp(`^\\* OK \\[CAPABILITY [^\\]]+\\] ${HOST} Mailward ready mw-[0-9a-f]{12}\\r\\n$`));
    const c = caps(greeting);
    for (const want of ['IMAP4rev1', 'SASL-IR', 'LITERAL-', 'ID', 'STARTTLS', 'LOGINDISABLED', 'AUTH=CRAM-MD5', 'AUTH=SCRAM-SHA-256', 'AUTH=DIGEST-MD5']) assert.ok(c.includes(want), want);
    for (const no of ['AUTH=PLAIN', 'AUTH=LOGIN', 'AUTH=SCRAM-SHA-256-PLUS', 'AUTH=NTLM', 'LITERAL+', 'IMAP4rev2']) assert.ok(!c.includes(no), no);
  } finally { await f.done(); }
});

test('A8: over TLS, CAPABILITY lists AUTH=PLAIN and LOGIN, no LOGINDISABLED and no STARTTLS; -PLUS with channel binding', async () => {
  const f = await fixture(dict({ AdvertiseNTLM: 'YES' }));
  try {
    const { send } = await open(f, { ...TLS, tls: { protocol: 'TLSv1.3', cipher: 'x', resumed: false, channelBindings: { 'tls-exporter': Buffer.alloc(32, 1) } } });
    const t = written(await send('a1 CAPABILITY'));
    assert.match(t, /^\* CAPABILITY .*\r\na1 OK Capability completed\r\n$/);
    const c = caps(t);
    for (const want of ['AUTH=PLAIN', 'AUTH=LOGIN', 'AUTH=SCRAM-SHA-256-PLUS', 'AUTH=NTLM']) assert.ok(c.includes(want), want);
    for (const no of ['LOGINDISABLED', 'STARTTLS']) assert.ok(!c.includes(no), no);
  } finally { await f.done(); }
});

test('A8: a clear listener with ClearTextLogin=always offers PLAIN and LOGIN before TLS; A6: secure methods hidden when not advertised', async () => {
  const f = await fixture(dict({ AdvertiseSecureSASL: 'NO' }));
  try {
    const { greeting } = await open(f, { clearTextLogin: 'always' });
    const c = caps(greeting);
    assert.ok(c.includes('AUTH=PLAIN') && c.includes('AUTH=LOGIN') && !c.includes('LOGINDISABLED'));
    assert.ok(!c.some((x) => /CRAM|SCRAM|DIGEST/.test(x)), c.join(' '));
  } finally { await f.done(); }
});

test('A8: LOGIN and AUTHENTICATE PLAIN before TLS are refused with PRIVACYREQUIRED and never reach the engine', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f);
    for (let i = 0; i < 4; i++) {
      assert.equal(written(await send(`a${i} LOGIN alice wrong`)), `a${i} NO [PRIVACYREQUIRED] Clear-text passwords are not allowed on an unencrypted connection\r\n`);
    }
    assert.equal(written(await send(`b1 AUTHENTICATE PLAIN ${b64('\0alice\0alice-pass')}`)), 'b1 NO [PRIVACYREQUIRED] Clear-text passwords are not allowed on an unencrypted connection\r\n');
    assert.equal(written(await send('b2 AUTHENTICATE LOGIN')), 'b2 NO [PRIVACYREQUIRED] Clear-text passwords are not allowed on an unencrypted connection\r\n');
    assert.deepEqual(await f.engine.lockoutState('example.com', 'alice'), { failures: 0, lockedUntil: null }, 'no failure was counted');
    assert.equal(f.backends.requests.length, 0);
  } finally { await f.done(); }
});

test('A5, B1: LOGIN over TLS relays to the backend with its capabilities and the pass-through password', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    const e = await send('a1 LOGIN alice alice-pass');
    assert.deepEqual(kinds(e), ['write', 'relay']);
    assert.equal(written(e), 'a1 OK [CAPABILITY IMAP4rev1 IDLE NAMESPACE] Logged in\r\n');
    const relay = e[1]!;
    assert.ok(relay.type === 'relay' && relay.account === 'alice@example.com' && !relay.backend.destroyed);
    assert.deepEqual(f.backends.requests, [{ service: 'IMAP', account: 'alice@example.com', password: 'alice-pass', client: '127.0.0.1' }]);
    assert.equal(s.state.kind, 'relayed');
    assert.deepEqual(await send('a2 NOOP'), [], 'a relayed session takes no more commands');
  } finally { await f.done(); }
});

test('B1: backend bytes read past the login reach the client as the relay preface; hostile capabilities are dropped', async () => {
  const f = await fixture();
  try {
    f.backends.pending = Buffer.from('* 3 EXISTS\r\n');
    f.backends.capabilities = ['IMAP4rev1', 'X]INJECT', 'BAD\r\nA', 'IDLE'];
    const { send } = await open(f, TLS);
    const e = await send('a1 LOGIN alice alice-pass');
    assert.equal(written(e), 'a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n');
    const relay = e[1]!;
    assert.ok(relay.type === 'relay' && Buffer.isBuffer(relay.preface) && relay.preface.toString() === '* 3 EXISTS\r\n');
    f.backends.capabilities = undefined;
    f.backends.pending = undefined;
    const { send: send2 } = await open(f, TLS);
    assert.equal(written(await send2('b LOGIN alice alice-pass')), 'b OK Logged in\r\n');
  } finally { await f.done(); }
});

test('A5: LOGIN with quoted strings (escapes), atoms and literals, synchronizing and not', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    assert.match(written(await send('q1 LOGIN "quoty" "q\\"uo\\\\te pass"')), /^q1 OK /);
    const t2 = await open(f, TLS);
    let e = await t2.send('q2 LOGIN {5}');
    assert.deepEqual(e, [{ type: 'write', data: '+ Ready for literal data\r\n' }, { type: 'read', mode: { kind: 'literal', size: 5 } }]);
    assert.deepEqual(await t2.s.onLiteral(Buffer.from('clara')), []);
    e = await t2.send(' {10+}');
    assert.deepEqual(e, [{ type: 'read', mode: { kind: 'literal', size: 10 } }], 'LITERAL-: no continuation for {n+}');
    assert.deepEqual(await t2.s.onLiteral(Buffer.from('clara-pass')), []);
    assert.match(written(await t2.send('')), /^q2 OK /);
    assert.equal(s.state.kind, 'relayed');
    assert.deepEqual(f.backends.requests.map((r) => r.password), ['q"uo\\te pass', 'clara-pass']);
  } finally { await f.done(); }
});

test('LITERAL-: over-limit literals: a synchronizing one gets BAD [TOOBIG] and the session goes on; a non-synchronizing one also closes', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    assert.equal(written(await send(`a1 LOGIN {${IMAP_MAX_LITERAL + 1}}`)), 'a1 BAD [TOOBIG] Literal too large\r\n');
    assert.equal(written(await send('a2 NOOP')), 'a2 OK NOOP completed\r\n');
    assert.equal(written(await send('a3 LOGIN {99999999999999999999}')), 'a3 BAD [TOOBIG] Literal too large\r\n');
    const e = await send(`a4 LOGIN alice {${IMAP_MAX_LITERAL + 1}+}`);
    assert.equal(written(e), 'a4 BAD [TOOBIG] Literal too large\r\n* BYE Literal refused\r\n');
    assert.equal(e.at(-1)?.type, 'close');
    assert.equal(s.state.kind, 'closed');
    // A malformed line that still ends in {n+}: its octets are coming, so it closes too.
    const t = await open(f, TLS);
    const e2 = await t.send('a5 LOGIN "open {3+}');
    assert.equal(e2.at(-1)?.type, 'close');
    // The same with a synchronizing marker: the client waits for "+", so the session goes on.
    const t3 = await open(f, TLS);
    assert.equal(written(await t3.send('a7 LOGIN "open {3}')), 'a7 BAD Unterminated quoted string\r\n');
    assert.equal(written(await t3.send('a8 NOOP')), 'a8 OK NOOP completed\r\n');
    // An exact-limit literal is accepted.
    const t4 = await open(f, TLS);
    assert.deepEqual(kinds(await t4.send(`a9 ID ("x" {${IMAP_MAX_LITERAL}}`)), ['write', 'read']);
    assert.deepEqual(await t4.s.onLiteral(Buffer.alloc(IMAP_MAX_LITERAL, 0x61)), []);
    assert.equal(written(await t4.send(')')), 'a9 BAD ID value too long\r\n', 'RFC 2971 caps ID values at 1024');
  } finally { await f.done(); }
});

test('A5: LOGIN failures: wrong password, and H1 Hide Unknown off then on', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f, TLS);
    assert.equal(written(await send('a1 LOGIN alice nope')), 'a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.equal(written(await send('a2 LOGIN ghost nope')), 'a2 NO [AUTHENTICATIONFAILED] Unknown account\r\n');
    assert.equal(written(await send('a3 LOGIN off off-pass')), 'a3 NO [CONTACTADMIN] Login is disabled for this account; contact your administrator\r\n');
    await f.setServer({ HideUnknownAccounts: 'YES' });
    assert.equal(written(await send('a4 LOGIN ghost nope')), 'a4 NO [AUTHENTICATIONFAILED] Authentication failed\r\n', 'H1: same words as a wrong password');
    assert.equal(written(await send('a5 LOGIN off off-pass')), 'a5 NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
    assert.equal(f.backends.requests.length, 0);
  } finally { await f.done(); }
});

test('H2: after N failures the account is locked: the reply says so with Hide Unknown off, and reads as a wrong password with it on', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f, TLS);
    for (const w of ['w1', 'w2', 'w3']) await send(`x LOGIN clara ${w}`);
    assert.equal(written(await send('a1 LOGIN clara clara-pass')), 'a1 NO [AUTHENTICATIONFAILED] Account temporarily locked after too many failed logins; try again later\r\n');
    // Locked for SASL too (every method counts and is refused).
    const cram = await open(f);
    const ch = written(await cram.send('a2 AUTHENTICATE CRAM-MD5'));
    const challenge = Buffer.from(ch.slice(2).trim(), 'base64');
    const digest = createHmac('md5', 'clara-pass').update(challenge).digest('hex');
    assert.match(written(await cram.send(b64(`clara ${digest}`))), /^a2 NO \[AUTHENTICATIONFAILED\] Account temporarily locked/);
    await f.setServer({ HideUnknownAccounts: 'YES' });
    assert.equal(written(await send('a3 LOGIN clara clara-pass')), 'a3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n');
  } finally { await f.done(); }
});

test('A7: Secure Method Required: LOGIN in clear over a clear link is refused with PRIVACYREQUIRED; CRAM-MD5 there and LOGIN over TLS work', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f, { clearTextLogin: 'always' });
    assert.equal(written(await send('a1 LOGIN secure secure-pass')), 'a1 NO [PRIVACYREQUIRED] This account requires TLS or a secure authentication method\r\n');
    assert.equal(written(await send(`a2 AUTHENTICATE PLAIN ${b64('\0secure\0secure-pass')}`)), 'a2 NO [PRIVACYREQUIRED] This account requires TLS or a secure authentication method\r\n');
    const ch = written(await send('a3 AUTHENTICATE CRAM-MD5'));
    assert.match(ch, /^\+ [A-Za-z0-9+/=]+\r\n$/);
    const digest = createHmac('md5', 'secure-pass').update(Buffer.from(ch.slice(2).trim(), 'base64')).digest('hex');
    assert.match(written(await send(b64(`secure ${digest}`))), /^a3 OK \[CAPABILITY /);
    assert.equal(f.backends.requests[0]?.password, undefined, 'a secure mechanism gives the backend no password');
    const t = await open(f, TLS);
    assert.match(written(await t.send('b1 LOGIN secure secure-pass')), /^b1 OK /);
  } finally { await f.done(); }
});

test('A1, SASL-IR: AUTHENTICATE PLAIN with an initial response, without one, with "=" and with an authzid', async () => {
  const f = await fixture();
  try {
    let t = await open(f, TLS);
    assert.match(written(await t.send(`a1 AUTHENTICATE PLAIN ${b64('\0alice\0alice-pass')}`)), /^a1 OK \[CAPABILITY/);
    t = await open(f, TLS);
    assert.equal(written(await t.send('a2 authenticate plain')), '+ \r\n');
    assert.equal(t.s.state.kind, 'authenticating');
    assert.match(written(await t.send(b64('\0clara\0clara-pass'))), /^a2 OK /);
    t = await open(f, TLS);
    assert.equal(written(await t.send('a3 AUTHENTICATE PLAIN =')), 'a3 BAD Invalid authentication data\r\n', 'an empty PLAIN message is malformed');
    t = await open(f, TLS);
    assert.equal(written(await t.send(`a4 AUTHENTICATE PLAIN ${b64('clara\0alice\0alice-pass')}`)), 'a4 NO [AUTHENTICATIONFAILED] Authentication failed\r\n', 'A1: no right to act for clara');
    assert.deepEqual(f.backends.requests.map((r) => [r.account, r.password]), [['alice@example.com', 'alice-pass'], ['clara@example.com', 'clara-pass']]);
  } finally { await f.done(); }
});

test('AUTHENTICATE: "*" cancels with BAD, broken base64 gets BAD, unknown mechanisms NO; the session goes on', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    assert.equal(written(await send('a1 AUTHENTICATE LOGIN')), `+ ${b64('Username:')}\r\n`);
    assert.equal(written(await send(b64('alice'))), `+ ${b64('Password:')}\r\n`);
    assert.equal(written(await send('*')), 'a1 BAD Authentication cancelled\r\n');
    assert.equal(s.state.kind, 'not-authenticated');
    assert.equal(written(await send('a2 AUTHENTICATE PLAIN')), '+ \r\n');
    assert.equal(written(await send('not base64!')), 'a2 BAD Invalid authentication data\r\n');
    assert.equal(written(await send('a3 AUTHENTICATE PLAIN AGFsaWNl=')), 'a3 BAD Invalid authentication data\r\n', 'non-canonical base64');
    assert.equal(written(await send('a4 AUTHENTICATE X-UNKNOWN')), 'a4 NO Unsupported authentication mechanism\r\n');
    assert.equal(written(await send('a5 AUTHENTICATE APOP')), 'a5 NO Unsupported authentication mechanism\r\n', 'APOP is not SASL');
    assert.equal(written(await send('a6 AUTHENTICATE NTLM')), 'a6 NO Unsupported authentication mechanism\r\n', 'A6: NTLM not advertised, not usable by name');
    assert.equal(written(await send('a7 NOOP')), 'a7 OK NOOP completed\r\n');
  } finally { await f.done(); }
});

test('A2: SCRAM-SHA-256 over a clear link, final server data sent as a challenge (IMAP4rev1)', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f);
    const client = scramClient('SHA-256', { authcid: 'alice', password: 'alice-pass' });
    const first = client.start().initial!;
    let reply = written(await send(`a1 AUTHENTICATE SCRAM-SHA-256 ${b64(first)}`));
    assert.match(reply, /^\+ /);
    const final = await client.next(Buffer.from(reply.slice(2).trim(), 'base64'));
    reply = written(await send(b64(final)));
    assert.match(reply, /^\+ /, 'v= comes as a challenge');
    assert.equal((await client.next(Buffer.from(reply.slice(2).trim(), 'base64'))).length, 0);
    assert.match(written(await send('')), /^a1 OK \[CAPABILITY /);
  } finally { await f.done(); }
});

test('N2: a login from a non-client address gets CONTACTADMIN and the connection is closed immediately', async () => {
  const f = await fixture(dict({ RejectNonClientLogins: 'YES', ClientIPAddresses: ['192.0.2.0/24'] }));
  try {
    const { s, send } = await open(f, { ...TLS, remoteAddress: '198.51.100.7' });
    const e = await send('a1 LOGIN alice alice-pass');
    assert.equal(written(e), 'a1 NO [CONTACTADMIN] Logins are not accepted from your address\r\n* BYE Closing connection\r\n');
    assert.deepEqual(kinds(e), ['write', 'write', 'close']);
    assert.equal(s.state.kind, 'closed');
    const t = await open(f, { ...TLS, remoteAddress: '192.0.2.9' });
    assert.match(written(await t.send('a1 LOGIN alice alice-pass')), /^a1 OK /);
  } finally { await f.done(); }
});

test('B2: no backend, backend down, backend refusing: a temporary error, no fake session, the client may retry', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    f.backends.mode = 'no-backend';
    assert.equal(written(await send('a1 LOGIN alice alice-pass')), 'a1 NO [UNAVAILABLE] No mail server is configured for your domain; try again later\r\n');
    assert.equal(s.state.kind, 'not-authenticated');
    assert.equal(written(await send('a2 NOOP')), 'a2 OK NOOP completed\r\n');
    f.backends.mode = 'unavailable';
    assert.equal(written(await send('a3 LOGIN alice alice-pass')), 'a3 NO [UNAVAILABLE] The mail server is unavailable; try again later\r\n');
    f.backends.mode = 'refused';
    assert.equal(written(await send(`a4 AUTHENTICATE PLAIN ${b64('\0alice\0alice-pass')}`)), 'a4 NO [UNAVAILABLE] The mail server refused the session; try again later\r\n');
    f.backends.mode = 'ok';
    assert.match(written(await send('a5 LOGIN alice alice-pass')), /^a5 OK /);
    assert.equal(f.backends.requests.length, 4);
  } finally { await f.done(); }
});

test('B1: a client that leaves while the backend logs in gets nothing, and the late backend socket is destroyed', async () => {
  const f = await fixture();
  try {
    const { s } = await open(f, TLS);
    let open_!: () => void;
    const gate = new Promise<void>((r) => { open_ = r; });
    let entered = false;
    const real = f.backends.connect.bind(f.backends);
    f.backends.connect = async (req) => { entered = true; await gate; return real(req); };
    const pending = s.onLine(Buffer.from('a1 LOGIN alice alice-pass'));
    while (!entered) await sleep(5);
    s.onClose();
    open_();
    assert.deepEqual(await pending, []);
    assert.ok(f.backends.sockets.every((x) => x.destroyed));
  } finally { await f.done(); }
});

test('T1: STARTTLS answers, upgrades, and the session starts afresh with new capabilities; input during the handshake closes', async () => {
  const f = await fixture();
  try {
    const { s, info, send } = await open(f);
    const e = await send('a1 STARTTLS');
    assert.deepEqual(e, [{ type: 'write', data: 'a1 OK Begin TLS negotiation now\r\n' }, { type: 'starttls' }]);
    makeSecure(info);
    assert.deepEqual(await s.onTlsStarted(), []);
    const c = caps(written(await send('a2 CAPABILITY')));
    assert.ok(c.includes('AUTH=PLAIN') && !c.includes('LOGINDISABLED') && !c.includes('STARTTLS'));
    assert.equal(written(await send('a3 STARTTLS')), 'a3 BAD TLS is already active\r\n');
    assert.match(written(await send('a4 LOGIN alice alice-pass')), /^a4 OK /);

    const t = await open(f);
    await t.send('b1 STARTTLS');
    const injected = await t.send('b2 LOGIN alice alice-pass');
    assert.equal(injected.at(-1)?.type, 'close', 'T1: a line before the handshake is a listener bug: close');
    const u = await open(f, { startTlsAvailable: false });
    assert.equal(written(await u.send('c1 STARTTLS')), 'c1 BAD STARTTLS is not available\r\n');
    assert.ok(!caps(u.greeting).includes('STARTTLS'));
  } finally { await f.done(); }
});

test('ID, NOOP, LOGOUT', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f);
    assert.equal(written(await send('a1 ID ("name" "imaplib" "version" NIL)')), '* ID ("name" "Mailward")\r\na1 OK ID completed\r\n');
    assert.equal(written(await send('a2 ID NIL')), '* ID ("name" "Mailward")\r\na2 OK ID completed\r\n');
    assert.equal(written(await send('a3 ID ()')), '* ID ("name" "Mailward")\r\na3 OK ID completed\r\n');
    assert.equal(written(await send('a4 ID ("name")')), 'a4 BAD ID list must hold field/value pairs\r\n');
    assert.equal(written(await send('a5 NOOP')), 'a5 OK NOOP completed\r\n');
    const e = await send('a6 LOGOUT');
    assert.equal(written(e), '* BYE Logging out\r\na6 OK Logout completed\r\n');
    assert.equal(e.at(-1)?.type, 'close');
  } finally { await f.done(); }
});

test('bad commands: unknown, post-login and malformed commands get BAD; the limit closes with BYE; HTTP is refused at once', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f);
    assert.equal(written(await send('a1 SELECT INBOX')), 'a1 BAD Unknown command or not allowed before login\r\n');
    assert.equal(written(await send('a2 NOOP extra')), 'a2 BAD No arguments expected\r\n');
    assert.equal(written(await send('+ bad tag')), '* BAD Missing or invalid tag\r\n');
    let last: Effect[] = [];
    for (let i = 4; i <= BAD_COMMAND_LIMIT; i++) last = await send(`a${i} FOO`);
    assert.equal(written(last), `a${BAD_COMMAND_LIMIT} BAD Unknown command or not allowed before login\r\n* BYE Too many invalid commands\r\n`);
    assert.equal(last.at(-1)?.type, 'close');
    const h = await open(f);
    const e = await h.send('GET / HTTP/1.1');
    assert.equal(written(e), '* BYE This is an IMAP server\r\n');
    assert.equal(e.at(-1)?.type, 'close');
  } finally { await f.done(); }
});

test('idle time-out, over-long line, and a literal nobody asked for', async () => {
  const f = await fixture();
  try {
    const { s } = await open(f);
    assert.deepEqual(s.onIdleTimeout(), [{ type: 'write', data: '* BYE Autologout; idle for too long\r\n' }, { type: 'close', reason: 'idle time-out' }]);
    const t = await open(f);
    const e = await t.s.onLineTooLong();
    assert.equal(written(e), '* BYE Command line too long\r\n');
    assert.equal(e.at(-1)?.type, 'close');
    const u = await open(f);
    assert.equal((await u.s.onLiteral(Buffer.from('x'))).at(-1)?.type, 'close');
    const v = await open(f);
    assert.equal((await v.s.onTlsStarted()).at(-1)?.type, 'close', 'TLS without STARTTLS is a listener bug');
  } finally { await f.done(); }
});

test('outcome → reply table: every LoginResult has its code, and only N2 closes', () => {
  const rows: [LoginResult, string, boolean][] = [
    [{ status: 'logged-in', capabilities: ['IMAP4rev1'] }, 't OK [CAPABILITY IMAP4rev1] Logged in', false],
    [{ status: 'logged-in', capabilities: [] }, 't OK Logged in', false],
    [{ status: 'bad-credentials' }, 't NO [AUTHENTICATIONFAILED] ', false],
    [{ status: 'unknown' }, 't NO [AUTHENTICATIONFAILED] ', false],
    [{ status: 'locked', until: 1 }, 't NO [AUTHENTICATIONFAILED] Account temporarily locked', false],
    [{ status: 'disabled' }, 't NO [CONTACTADMIN] ', false],
    [{ status: 'secure-method-required' }, 't NO [PRIVACYREQUIRED] ', false],
    [{ status: 'clear-text-disabled' }, 't NO [PRIVACYREQUIRED] ', false],
    [{ status: 'not-client-address' }, 't NO [CONTACTADMIN] ', true],
    [{ status: 'temporary-failure', reason: 'x' }, 't NO [UNAVAILABLE] ', false],
    [{ status: 'malformed', reason: 'x' }, 't BAD ', false],
    [{ status: 'cancelled' }, 't BAD ', false],
    [{ status: 'unsupported-mechanism' }, 't NO ', false],
    [{ status: 'no-backend' }, 't NO [UNAVAILABLE] No mail server is configured', false],
    [{ status: 'backend-unavailable' }, 't NO [UNAVAILABLE] ', false],
    [{ status: 'backend-refused' }, 't NO [UNAVAILABLE] ', false],
  ];
  for (const [r, prefix, closes] of rows) {
    const e = loginReply('t', r);
    assert.ok(written(e).startsWith(prefix), `${r.status}: ${written(e)}`);
    assert.equal(e.at(-1)?.type === 'close', closes, r.status);
    assert.equal(effectProblem(e, 0), null);
  }
});
