// POP3 before login, as transcripts: the session is driven line by line and its effects checked.
// The engine is real (a temporary file store); the backend connector is a recording fake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { dict } from '../../settings/format/types.js';
import type { Effect } from '../common/session.js';
import { HOST, b64, connectionInfo, effectProblem, fixture, kinds, makeSecure, written, type Fixture } from '../common/testing/fixture.js';
import { BAD_COMMAND_LIMIT } from '../common/bad-commands.js';
import { pop3LoginReply, type Pop3LoginResult } from './replies.js';
import { Pop3Session } from './session.js';

type Info = ReturnType<typeof connectionInfo>;

async function open(f: Fixture, over: Partial<Info> = {}): Promise<{ s: Pop3Session; info: Info; greeting: string; send: (l: string | Buffer) => Promise<Effect[]> }> {
  const info = connectionInfo('POP', { localPort: 1110, ...over });
  const s = new Pop3Session(info, f.deps);
  const g = await s.start();
  assert.equal(effectProblem(g, 0), null);
  const send = async (l: string | Buffer): Promise<Effect[]> => {
    const e = await s.onLine(typeof l === 'string' ? Buffer.from(l, 'utf8') : l);
    assert.equal(effectProblem(e, 0), null);
    assert.ok(!e.some((x) => x.type === 'read'), 'POP3 never asks for a literal');
    return e;
  };
  return { s, info, greeting: written(g), send };
}

const TLS: Partial<Info> = { secure: true, startTlsAvailable: false, tls: { protocol: 'TLSv1.3', cipher: 'x', resumed: false, channelBindings: {} } };

function capa(text: string): string[] {
  const lines = text.split('\r\n');
  assert.equal(lines[0], '+OK Capability list follows');
  assert.equal(lines.at(-2), '.');
  return lines.slice(1, -2);
}

const apopDigest = (timestamp: string, password: string): string => createHash('md5').update(timestamp + password).digest('hex');

test('A4: the greeting carries a fresh APOP timestamp when APOP can be used, and none when it cannot', async () => {
  const f = await fixture();
  try {
    const a = await open(f);
    const b = await open(f);
    assert.match(a.greeting, new RegExp(`^\\+OK ${HOST} Mailward ready mw-[0-9a-f]{12} <[0-9a-f]{16}\\.\\d+@${HOST}>\\r\\n$`));
    assert.notEqual(a.s.timestamp, b.s.timestamp, 'unique per greeting');
    await f.setServer({ AdvertiseSecureSASL: 'NO' });
    const c = await open(f);
    assert.match(c.greeting, new RegExp(`^\\+OK ${HOST} Mailward ready mw-[0-9a-f]{12}\\r\\n$`));
    assert.equal(c.s.timestamp, undefined);
    assert.equal(written(await c.send(`APOP clara ${'0'.repeat(32)}`)), '-ERR Unsupported authentication mechanism\r\n');
  } finally { await f.done(); }
});

test('A4: APOP logs in with the digest of the greeting timestamp; a wrong digest and a one-way password (A9) fail cleanly', async () => {
  const f = await fixture();
  try {
    const t = await open(f);
    const ts = t.s.timestamp!;
    assert.equal(written(await t.send(`APOP clara ${'0'.repeat(32)}`)), '-ERR [AUTH] Authentication failed\r\n');
    assert.equal(written(await t.send(`APOP alice ${apopDigest(ts, 'alice-pass')}`)), '-ERR [AUTH] Authentication failed\r\n', 'A9');
    assert.equal(written(await t.send('APOP clara nothex')), '-ERR Invalid authentication data\r\n');
    const e = await t.send(`APOP clara ${apopDigest(ts, 'clara-pass')}`);
    assert.deepEqual(kinds(e), ['write', 'relay']);
    assert.equal(written(e), '+OK Logged in\r\n');
    assert.deepEqual(f.backends.requests, [{ service: 'POP', account: 'clara@example.com', client: '127.0.0.1' }], 'a secure method: no password for the backend');
  } finally { await f.done(); }
});

test('A8: CAPA before TLS on a tls-only listener has no USER and no PLAIN/LOGIN; over TLS it has them and no STLS', async () => {
  const f = await fixture();
  try {
    const clear = capa(written(await (await open(f)).send('CAPA')));
    assert.ok(!clear.includes('USER'));
    assert.ok(clear.includes('STLS') && clear.includes('RESP-CODES') && clear.includes('AUTH-RESP-CODE') && clear.includes('IMPLEMENTATION Mailward'));
    const sasl = clear.find((l) => l.startsWith('SASL '))!.split(' ');
    assert.ok(sasl.includes('CRAM-MD5') && sasl.includes('SCRAM-SHA-256') && !sasl.includes('PLAIN') && !sasl.includes('LOGIN') && !sasl.includes('APOP'));
    const tls = capa(written(await (await open(f, TLS)).send('capa')));
    assert.ok(tls.includes('USER') && !tls.includes('STLS'));
    assert.ok(tls.find((l) => l.startsWith('SASL '))!.split(' ').includes('PLAIN'));
    const always = capa(written(await (await open(f, { clearTextLogin: 'always' })).send('CAPA')));
    assert.ok(always.includes('USER') && always.includes('STLS'));
  } finally { await f.done(); }
});

test('A8: USER and AUTH PLAIN before TLS are refused with [AUTH] and a reason; PASS without USER is refused', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f);
    assert.equal(written(await send('USER alice')), '-ERR [AUTH] Clear-text passwords are not allowed on an unencrypted connection\r\n');
    assert.equal(written(await send('PASS alice-pass')), '-ERR USER first\r\n');
    assert.equal(written(await send(`AUTH PLAIN ${b64('\0alice\0alice-pass')}`)), '-ERR [AUTH] Clear-text passwords are not allowed on an unencrypted connection\r\n');
    assert.equal(written(await send('AUTH LOGIN')), '-ERR [AUTH] Clear-text passwords are not allowed on an unencrypted connection\r\n');
    assert.deepEqual(await f.engine.lockoutState('example.com', 'alice'), { failures: 0, lockedUntil: null });
  } finally { await f.done(); }
});

test('A5, B1: USER/PASS over TLS relays with the pass-through password; PASS keeps spaces', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    assert.equal(written(await send('USER quoty')), '+OK Send your password\r\n');
    const e = await send('PASS q"uo\\te pass');
    assert.equal(written(e), '+OK Logged in\r\n');
    const relay = e.at(-1)!;
    assert.ok(relay.type === 'relay' && relay.account === 'quoty@example.com' && !relay.backend.destroyed);
    assert.deepEqual(f.backends.requests, [{ service: 'POP', account: 'quoty@example.com', password: 'q"uo\\te pass', client: '127.0.0.1' }]);
    assert.equal(s.state.kind, 'relayed');
    assert.deepEqual(await send('STAT'), []);
    f.backends.pending = Buffer.from('extra');
    const t = await open(f, TLS);
    await t.send('USER alice');
    const e2 = await t.send('PASS alice-pass');
    const r2 = e2.at(-1)!;
    assert.ok(r2.type === 'relay' && Buffer.isBuffer(r2.preface) && r2.preface.toString() === 'extra');
  } finally { await f.done(); }
});

test('A5, H1: wrong password, unknown account with Hide Unknown off and on, disabled account; a failed PASS needs USER again', async () => {
  const f = await fixture();
  try {
    const { send } = await open(f, TLS);
    await send('USER alice');
    assert.equal(written(await send('PASS nope')), '-ERR [AUTH] Authentication failed\r\n');
    assert.equal(written(await send('PASS alice-pass')), '-ERR USER first\r\n');
    await send('USER ghost');
    assert.equal(written(await send('PASS nope')), '-ERR [AUTH] Unknown account\r\n');
    await send('USER off');
    assert.equal(written(await send('PASS off-pass')), '-ERR [SYS/PERM] Login is disabled for this account; contact your administrator\r\n');
    await f.setServer({ HideUnknownAccounts: 'YES' });
    await send('USER ghost');
    assert.equal(written(await send('PASS nope')), '-ERR [AUTH] Authentication failed\r\n', 'H1: same words as a wrong password');
    await send('USER off');
    assert.equal(written(await send('PASS off-pass')), '-ERR [AUTH] Authentication failed\r\n');
  } finally { await f.done(); }
});

test('H2: lock-out seen from POP3: locked reply with Hide Unknown off, a plain failure with it on; every method counts', async () => {
  const f = await fixture();
  try {
    const t = await open(f, TLS);
    await t.send('USER clara'); await t.send('PASS w1');
    await t.send(`APOP clara ${'1'.repeat(32)}`);
    await t.send(`AUTH PLAIN ${b64('\0clara\0w3')}`);
    await t.send('USER clara');
    assert.equal(written(await t.send('PASS clara-pass')), '-ERR [AUTH] Account temporarily locked after too many failed logins; try again later\r\n');
    const u = await open(f);
    const ch = written(await u.send('AUTH CRAM-MD5'));
    const digest = createHmac('md5', 'clara-pass').update(Buffer.from(ch.slice(2).trim(), 'base64')).digest('hex');
    assert.match(written(await u.send(b64(`clara ${digest}`))), /^-ERR \[AUTH\] Account temporarily locked/);
    await f.setServer({ HideUnknownAccounts: 'YES' });
    assert.equal(written(await u.send(`APOP clara ${apopDigest(u.s.timestamp!, 'clara-pass')}`)), '-ERR [AUTH] Authentication failed\r\n');
  } finally { await f.done(); }
});

test('A7: Secure Method Required: USER/PASS over a clear link is refused with a reason; APOP and CRAM-MD5 there work', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, { clearTextLogin: 'always' });
    await send('USER secure');
    assert.equal(written(await send('PASS secure-pass')), '-ERR [AUTH] This account requires TLS or a secure authentication method\r\n');
    assert.equal(written(await send(`AUTH PLAIN ${b64('\0secure\0secure-pass')}`)), '-ERR [AUTH] This account requires TLS or a secure authentication method\r\n');
    assert.equal(written(await send(`APOP secure ${apopDigest(s.timestamp!, 'secure-pass')}`)), '+OK Logged in\r\n');
    const t = await open(f, { clearTextLogin: 'always' });
    const ch = written(await t.send('AUTH CRAM-MD5'));
    assert.match(ch, /^\+ [A-Za-z0-9+/=]+\r\n$/);
    const digest = createHmac('md5', 'secure-pass').update(Buffer.from(ch.slice(2).trim(), 'base64')).digest('hex');
    assert.equal(written(await t.send(b64(`secure ${digest}`))), '+OK Logged in\r\n');
  } finally { await f.done(); }
});

test('AUTH: the mechanism list, SASL-IR, an empty challenge, "*" cancel, broken base64, unknown mechanisms', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    const list = written(await send('AUTH')).split('\r\n');
    assert.equal(list[0], '+OK');
    assert.equal(list.at(-2), '.');
    assert.ok(list.includes('PLAIN') && list.includes('CRAM-MD5') && !list.includes('APOP'));
    assert.equal(written(await send('AUTH LOGIN')), `+ ${b64('Username:')}\r\n`);
    assert.equal(s.state.kind, 'authenticating');
    assert.equal(written(await send('*')), '-ERR Authentication cancelled\r\n');
    assert.equal(written(await send('AUTH PLAIN')), '+ \r\n');
    assert.equal(written(await send('%%%')), '-ERR Invalid authentication data\r\n');
    assert.equal(written(await send('AUTH X-NOPE')), '-ERR Unsupported authentication mechanism\r\n');
    assert.equal(written(await send('AUTH APOP')), '-ERR Unsupported authentication mechanism\r\n', 'APOP is not SASL');
    assert.equal(written(await send('AUTH PLAIN a b')), '-ERR AUTH takes a mechanism and an optional initial response\r\n');
    assert.equal(written(await send('AUTH PLAIN')), '+ \r\n');
    assert.equal(written(await send(b64('\0alice\0alice-pass'))), '+OK Logged in\r\n');
    const t = await open(f, TLS);
    assert.equal(written(await t.send(`AUTH PLAIN ${b64('\0clara\0clara-pass')}`)), '+OK Logged in\r\n');
    assert.deepEqual(f.backends.requests.map((r) => r.password), ['alice-pass', 'clara-pass']);
  } finally { await f.done(); }
});

test('N2: a login from a non-client address gets -ERR and the connection is closed immediately', async () => {
  const f = await fixture(dict({ RejectNonClientLogins: 'YES', ClientIPAddresses: ['192.0.2.0/24'] }));
  try {
    const { s, send } = await open(f, { ...TLS, remoteAddress: '198.51.100.7' });
    await send('USER alice');
    const e = await send('PASS alice-pass');
    assert.equal(written(e), '-ERR Logins are not accepted from your address\r\n');
    assert.equal(e.at(-1)?.type, 'close');
    assert.equal(s.state.kind, 'closed');
    const t = await open(f, { remoteAddress: '198.51.100.7' });
    const e2 = await t.send(`APOP clara ${apopDigest(t.s.timestamp!, 'clara-pass')}`);
    assert.equal(e2.at(-1)?.type, 'close', 'N2 applies to APOP too');
  } finally { await f.done(); }
});

test('B2: no backend, backend down, refusing, mailbox in use: [SYS/TEMP] or [IN-USE], no fake session, retry works', async () => {
  const f = await fixture();
  try {
    const { s, send } = await open(f, TLS);
    const login = async (): Promise<string> => { await send('USER alice'); return written(await send('PASS alice-pass')); };
    f.backends.mode = 'no-backend';
    assert.equal(await login(), '-ERR [SYS/TEMP] No mail server is configured for your domain; try again later\r\n');
    assert.equal(s.state.kind, 'authorization');
    f.backends.mode = 'unavailable';
    assert.equal(await login(), '-ERR [SYS/TEMP] The mail server is unavailable; try again later\r\n');
    f.backends.mode = 'refused';
    assert.equal(await login(), '-ERR [SYS/TEMP] The mail server refused the session; try again later\r\n');
    f.backends.mode = 'in-use';
    assert.equal(await login(), '-ERR [IN-USE] The mailbox is in use by another session; try again later\r\n');
    assert.match(written(await send('CAPA')), /^\+OK Capability/);
    f.backends.mode = 'ok';
    assert.equal(await login(), '+OK Logged in\r\n');
  } finally { await f.done(); }
});

test('T1: STLS upgrades and forgets the USER name; the APOP timestamp stays valid; STLS twice or where unavailable is refused', async () => {
  const f = await fixture();
  try {
    const { s, info, send } = await open(f, { clearTextLogin: 'always' });
    const ts = s.timestamp!;
    assert.equal(written(await send('USER clara')), '+OK Send your password\r\n');
    assert.deepEqual(await send('STLS'), [{ type: 'write', data: '+OK Begin TLS negotiation\r\n' }, { type: 'starttls' }]);
    makeSecure(info);
    assert.deepEqual(await s.onTlsStarted(), []);
    assert.equal(written(await send('PASS clara-pass')), '-ERR USER first\r\n', 'RFC 2595: USER learned before TLS is forgotten');
    assert.ok(!capa(written(await send('CAPA'))).includes('STLS'));
    assert.equal(written(await send('STLS')), '-ERR TLS is already active\r\n');
    assert.equal(written(await send(`APOP clara ${apopDigest(ts, 'clara-pass')}`)), '+OK Logged in\r\n');
    const t = await open(f);
    await t.send('STLS');
    assert.equal((await t.send('USER alice')).at(-1)?.type, 'close', 'T1: input before the handshake is a listener bug: close');
    const u = await open(f, { startTlsAvailable: false });
    assert.equal(written(await u.send('STLS')), '-ERR STLS is not available\r\n');
  } finally { await f.done(); }
});

test('QUIT, bad commands up to the limit, HTTP, idle time-out, over-long line, a literal', async () => {
  const f = await fixture();
  try {
    const q = await open(f);
    const e = await q.send('QUIT');
    assert.equal(written(e), `+OK ${HOST} Mailward signing off\r\n`);
    assert.equal(e.at(-1)?.type, 'close');
    const { send } = await open(f);
    assert.equal(written(await send('STAT')), '-ERR Unknown command or not allowed before login\r\n');
    assert.equal(written(await send('CAPA x')), '-ERR No arguments expected\r\n');
    assert.equal(written(await send('')), '-ERR Empty line\r\n');
    let last: Effect[] = [];
    for (let i = 4; i <= BAD_COMMAND_LIMIT; i++) last = await send('NOPE');
    assert.equal(written(last), '-ERR Too many invalid commands\r\n');
    assert.equal(last.at(-1)?.type, 'close');
    const h = await open(f);
    assert.equal((await h.send('GET / HTTP/1.0')).at(-1)?.type, 'close');
    const i = await open(f);
    assert.deepEqual(i.s.onIdleTimeout(), [{ type: 'write', data: '-ERR Autologout; idle for too long\r\n' }, { type: 'close', reason: 'idle time-out' }]);
    assert.deepEqual(i.s.onIdleTimeout(), [], 'nothing after close');
    const l = await open(f);
    assert.equal(written(await l.s.onLineTooLong()), '-ERR Line too long\r\n');
    const m = await open(f);
    assert.equal((await m.s.onLiteral()).at(-1)?.type, 'close');
  } finally { await f.done(); }
});

test('outcome → reply table: every Pop3LoginResult has its code, and only N2 closes', () => {
  const rows: [Pop3LoginResult, string, boolean][] = [
    [{ status: 'logged-in' }, '+OK Logged in', false],
    [{ status: 'bad-credentials' }, '-ERR [AUTH] ', false],
    [{ status: 'unknown' }, '-ERR [AUTH] ', false],
    [{ status: 'locked', until: 1 }, '-ERR [AUTH] Account temporarily locked', false],
    [{ status: 'disabled' }, '-ERR [SYS/PERM] ', false],
    [{ status: 'secure-method-required' }, '-ERR [AUTH] This account requires TLS or a secure authentication method', false],
    [{ status: 'clear-text-disabled' }, '-ERR [AUTH] ', false],
    [{ status: 'not-client-address' }, '-ERR ', true],
    [{ status: 'temporary-failure', reason: 'x' }, '-ERR [SYS/TEMP] ', false],
    [{ status: 'malformed', reason: 'x' }, '-ERR Invalid', false],
    [{ status: 'cancelled' }, '-ERR Authentication cancelled', false],
    [{ status: 'unsupported-mechanism' }, '-ERR Unsupported', false],
    [{ status: 'no-backend' }, '-ERR [SYS/TEMP] No mail server is configured', false],
    [{ status: 'backend-unavailable', reason: 'connect: ECONNREFUSED' }, '-ERR [SYS/TEMP] The mail server is unavailable', false],
    [{ status: 'backend-unavailable', reason: 'PASS: -ERR [IN-USE] locked' }, '-ERR [IN-USE] ', false],
    [{ status: 'backend-refused', reason: 'NO' }, '-ERR [SYS/TEMP] ', false],
    [{ status: 'backend-refused', reason: '-ERR [IN-USE] locked' }, '-ERR [IN-USE] ', false],
  ];
  for (const [r, prefix, closes] of rows) {
    const e = pop3LoginReply(r);
    assert.ok(written(e).startsWith(prefix), `${r.status}: ${written(e)}`);
    assert.equal(e.at(-1)?.type === 'close', closes, r.status);
    assert.equal(e.filter((x) => x.type === 'write').length, 1, 'POP3 answers each command with one line');
    assert.equal(effectProblem(e, 0), null);
  }
});
