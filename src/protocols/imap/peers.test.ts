// IMAP before login against independent clients, through the real listener: Python's imaplib,
// curl and gsasl (A1, A2, A5, A7, A8, H1, T1). The backend is the recording fake, which answers
// the commands these clients send after login (LIST, LOGOUT), so each run ends cleanly and the
// backend's log shows the client got through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool, run } from '../../tls/test/tools.js';
import { ImapSession } from './session.js';
import { fixture, type Fixture } from '../common/testing/fixture.js';
import { startFront, type Front } from '../common/testing/front.js';

let f: Fixture;
let front: Front;

before(async () => {
  f = await fixture();
  front = await startFront('IMAP', (info) => new ImapSession(info, f.deps));
});
after(async () => { await front.close(); await f.done(); });

/** Runs a Python imaplib script; `M` is connected as `how` says. Prints one JSON line. */
async function imaplib(how: 'ssl' | 'starttls' | 'clear' | 'clear-allowed', body: string): Promise<Record<string, unknown>> {
  requireTool('python3', 'python3');
  const port = how === 'ssl' ? front.implicit : how === 'clear-allowed' ? front.clearAllowed : front.starttls;
  const open = how === 'ssl' ? `M = imaplib.IMAP4_SSL('127.0.0.1', ${port}, ssl_context=ctx)` : `M = imaplib.IMAP4('127.0.0.1', ${port})`;
  const script = [
    'import imaplib, json, ssl, sys',
    'ctx = ssl._create_unverified_context()',
    'out = {}',
    'try:',
    `    ${open}`,
    ...(how === 'starttls' ? ['    M.starttls(ssl_context=ctx)'] : []),
    '    out["caps"] = list(M.capabilities)',
    ...body.split('\n').map((l) => `    ${l}`),
    'except Exception as e:',
    '    out["error"] = str(e)',
    'print(json.dumps(out))',
  ].join('\n');
  const r = await run('python3', ['-c', script], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.out);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

async function curl(args: string[]): Promise<{ code: number; out: string }> {
  requireTool('curl', 'curl');
  const r = await run('curl', ['-sS', '-v', '--max-time', '15', ...args], { timeoutMs: 20_000 });
  return { code: r.code, out: r.out };
}

test('A5, T1: imaplib LOGIN over implicit TLS with a quoted password holding " and \\, then LIST and LOGOUT through the relay', async () => {
  const before_ = f.backends.requests.length;
  const r = await imaplib('ssl', 'out["login"] = M.login("quoty", \'q"uo\\\\te pass\')[0]\nout["list"] = M.list()[0]\nout["logout"] = M.logout()[0]');
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual([r.login, r.list, r.logout], ['OK', 'OK', 'BYE']);
  assert.equal(f.backends.requests.at(-1)?.password, 'q"uo\\te pass');
  assert.equal(f.backends.requests.length, before_ + 1);
  assert.ok(f.backends.backendLines.some((l) => / LIST /.test(l)));
});

test('A8, T1: imaplib sees LOGINDISABLED before STARTTLS and AUTH=PLAIN after it, then logs in', async () => {
  const clear = await imaplib('clear', 'out["login"] = M.login("alice", "alice-pass")[0]');
  assert.ok((clear.caps as string[]).includes('LOGINDISABLED') && (clear.caps as string[]).includes('STARTTLS'));
  assert.ok(!(clear.caps as string[]).includes('AUTH=PLAIN'));
  assert.match(String(clear.error), /PRIVACYREQUIRED/);
  const tls = await imaplib('starttls', 'out["caps2"] = list(M.capabilities)\nout["login"] = M.login("alice", "alice-pass")[0]\nout["logout"] = M.logout()[0]');
  assert.equal(tls.error, undefined, JSON.stringify(tls));
  assert.ok((tls.caps2 as string[]).includes('AUTH=PLAIN') && !(tls.caps2 as string[]).includes('LOGINDISABLED'));
  assert.equal(tls.login, 'OK');
});

test('A2, A1: imaplib CRAM-MD5 over a clear link and AUTHENTICATE PLAIN (continuation) over TLS; H1 wrong password', async () => {
  const cram = await imaplib('clear', 'out["login"] = M.login_cram_md5("clara", "clara-pass")[0]\nout["logout"] = M.logout()[0]');
  assert.equal(cram.error, undefined, JSON.stringify(cram));
  assert.equal(cram.login, 'OK');
  const plain = await imaplib('ssl', 'out["login"] = M.authenticate("PLAIN", lambda _: b"\\0alice\\0alice-pass")[0]\nout["logout"] = M.logout()[0]');
  assert.equal(plain.error, undefined, JSON.stringify(plain));
  const wrong = await imaplib('ssl', 'M.login("alice", "wrong")');
  assert.match(String(wrong.error), /AUTHENTICATIONFAILED/);
});

test('A1, A2: curl over IMAPS with SASL-IR PLAIN, over STARTTLS with LOGIN, and in clear with its own choice and CRAM-MD5; wrong password exits 67', async () => {
  const user = ['-u', 'alice:alice-pass'];
  let r = await curl(['-k', '--sasl-ir', '--login-options', 'AUTH=PLAIN', ...user, `imaps://127.0.0.1:${front.implicit}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> A\d+ AUTHENTICATE PLAIN \S+/, 'SASL-IR on the command line');
  assert.match(r.out, /INBOX/);
  r = await curl(['-k', '--ssl-reqd', '--login-options', 'AUTH=LOGIN', ...user, `imap://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> A\d+ STARTTLS/);
  r = await curl(['-u', 'clara:clara-pass', `imap://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> A\d+ AUTHENTICATE (DIGEST-MD5|CRAM-MD5)/, 'curl picks a secure mechanism: PLAIN is not offered in clear');
  r = await curl(['--login-options', 'AUTH=CRAM-MD5', '-u', 'clara:clara-pass', `imap://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  r = await curl(['--login-options', 'AUTH=CRAM-MD5', '-u', 'clara:wrong', `imap://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 67, r.out);
  assert.match(r.out, /NO \[AUTHENTICATIONFAILED\]/);
});

test('A7: curl LOGIN in clear to a Secure-Method-Required account is refused with PRIVACYREQUIRED; CRAM-MD5 works', async () => {
  let r = await curl(['--login-options', 'AUTH=LOGIN', '-u', 'secure:secure-pass', `imap://127.0.0.1:${front.clearAllowed}/`]);
  assert.equal(r.code, 67, r.out);
  assert.match(r.out, /NO \[PRIVACYREQUIRED\] This account requires TLS or a secure authentication method/);
  r = await curl(['--login-options', 'AUTH=CRAM-MD5', '-u', 'secure:secure-pass', `imap://127.0.0.1:${front.clearAllowed}/`]);
  assert.equal(r.code, 0, r.out);
});

test('A2: gsasl SCRAM-SHA-256-PLUS over STARTTLS (channel binding from the listener), SCRAM-SHA-1 without binding, SCRAM-SHA-256 in clear, a wrong password', async () => {
  requireTool('gsasl', 'gsasl');
  const common = ['--imap', '--connect', `localhost:${front.starttls}`, '--x509-ca-file', front.caFile, '-a', 'alice', '-p', 'alice-pass', '--quiet'];
  let r = await run('gsasl', [...common, '--starttls', '-m', 'SCRAM-SHA-256-PLUS'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.out);
  // alice's one-way password has SCRAM-SHA-256 keys only (P3); clara's clear one serves SHA-1.
  r = await run('gsasl', [...common.slice(0, -5), '-a', 'clara', '-p', 'clara-pass', '--quiet', '--starttls', '--no-cb', '-m', 'SCRAM-SHA-1'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.out);
  r = await run('gsasl', [...common, '--no-starttls', '-m', 'SCRAM-SHA-256'], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.out);
  r = await run('gsasl', [...common.slice(0, -3), 'wrong', '--quiet', '--starttls', '--no-cb', '-m', 'SCRAM-SHA-256'], { timeoutMs: 20_000 });
  assert.notEqual(r.code, 0, r.out);
});
