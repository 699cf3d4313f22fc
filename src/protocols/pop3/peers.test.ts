// POP3 before login against independent clients, through the real listener: Python's poplib and
// curl (A1, A2, A4, A5, A7, A8, T1). The backend is the recording fake, which answers STAT, LIST
// and QUIT, so each run ends cleanly and the backend's log shows the client got through.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool, run } from '../../tls/test/tools.js';
import { fixture, type Fixture } from '../common/testing/fixture.js';
import { startFront, type Front } from '../common/testing/front.js';
import { Pop3Session } from './session.js';

let f: Fixture;
let front: Front;

before(async () => {
  f = await fixture();
  front = await startFront('POP', (info) => new Pop3Session(info, f.deps));
});
after(async () => { await front.close(); await f.done(); });

async function poplib(how: 'ssl' | 'stls' | 'clear' | 'clear-allowed', body: string): Promise<Record<string, unknown>> {
  requireTool('python3', 'python3');
  const port = how === 'ssl' ? front.implicit : how === 'clear-allowed' ? front.clearAllowed : front.starttls;
  const open = how === 'ssl' ? `M = poplib.POP3_SSL('127.0.0.1', ${port}, context=ctx)` : `M = poplib.POP3('127.0.0.1', ${port})`;
  const script = [
    'import poplib, json, ssl',
    'ctx = ssl._create_unverified_context()',
    'out = {}',
    'def s(b): return b.decode("latin1") if isinstance(b, bytes) else b',
    'try:',
    `    ${open}`,
    '    out["welcome"] = s(M.getwelcome())',
    ...(how === 'stls' ? ['    M.stls(context=ctx)'] : []),
    '    out["capa"] = sorted(M.capa().keys())',
    ...body.split('\n').map((l) => `    ${l}`),
    'except Exception as e:',
    '    out["error"] = s(e.args[0]) if e.args else str(e)',
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

test('A5, T1: poplib USER/PASS over implicit TLS (a password with spaces), STAT and QUIT through the relay', async () => {
  const r = await poplib('ssl', 'out["user"] = s(M.user("quoty"))\nout["pass"] = s(M.pass_(\'q"uo\\\\te pass\'))\nout["stat"] = list(M.stat())\nout["quit"] = s(M.quit())');
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.equal(r.pass, '+OK Logged in');
  assert.deepEqual(r.stat, [0, 0]);
  assert.equal(f.backends.requests.at(-1)?.password, 'q"uo\\te pass');
  assert.ok(f.backends.backendLines.includes('STAT'));
});

test('A8, T1: poplib sees no USER before STLS and is refused; after STLS USER/PASS works', async () => {
  const clear = await poplib('clear', 'out["user"] = s(M.user("alice"))');
  assert.ok(!(clear.capa as string[]).includes('USER') && (clear.capa as string[]).includes('STLS'));
  assert.match(String(clear.error), /^-ERR \[AUTH\] Clear-text passwords are not allowed/);
  const tls = await poplib('stls', 'out["capa2"] = sorted(M.capa().keys())\nout["user"] = s(M.user("alice"))\nout["pass"] = s(M.pass_("alice-pass"))\nout["quit"] = s(M.quit())');
  assert.equal(tls.error, undefined, JSON.stringify(tls));
  assert.ok((tls.capa2 as string[]).includes('USER') && !(tls.capa2 as string[]).includes('STLS'));
  assert.equal(tls.pass, '+OK Logged in');
});

test('A4: poplib APOP in clear with the greeting timestamp; a wrong password gives [AUTH]', async () => {
  const r = await poplib('clear', 'out["apop"] = s(M.apop("clara", "clara-pass"))\nout["quit"] = s(M.quit())');
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.match(String(r.welcome), /^\+OK mail\.example\.com Mailward ready mw-[0-9a-f]{12} <[0-9a-f]+\.\d+@mail\.example\.com>$/);
  assert.equal(r.apop, '+OK Logged in');
  const bad = await poplib('clear', 'M.apop("clara", "wrong")');
  assert.equal(bad.error, '-ERR [AUTH] Authentication failed');
});

test('A7: poplib USER/PASS in clear to a Secure-Method-Required account gets [AUTH] with the reason; APOP works', async () => {
  const r = await poplib('clear-allowed', 'M.user("secure")\nM.pass_("secure-pass")');
  assert.equal(r.error, '-ERR [AUTH] This account requires TLS or a secure authentication method');
  const a = await poplib('clear-allowed', 'out["apop"] = s(M.apop("secure", "secure-pass"))\nM.quit()');
  assert.equal(a.apop, '+OK Logged in');
});

test('A1, A2, A4: curl POP3S with SASL-IR PLAIN, POP3 with STLS and LOGIN, APOP, its own choice in clear; wrong password exits 67', async () => {
  let r = await curl(['-k', '--sasl-ir', '--login-options', 'AUTH=PLAIN', '-u', 'alice:alice-pass', `pop3s://127.0.0.1:${front.implicit}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> AUTH PLAIN \S+/);
  r = await curl(['-k', '--ssl-reqd', '--login-options', 'AUTH=LOGIN', '-u', 'alice:alice-pass', `pop3://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> STLS/);
  r = await curl(['--login-options', 'AUTH=+APOP', '-u', 'clara:clara-pass', `pop3://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> APOP clara [0-9a-f]{32}/);
  r = await curl(['-u', 'clara:clara-pass', `pop3://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /> AUTH (DIGEST-MD5|CRAM-MD5|SCRAM)/);
  r = await curl(['--login-options', 'AUTH=CRAM-MD5', '-u', 'clara:wrong', `pop3://127.0.0.1:${front.starttls}/`]);
  assert.equal(r.code, 67, r.out);
  assert.match(r.out, /-ERR \[AUTH\] Authentication failed/);
});
