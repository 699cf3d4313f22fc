// Issue 3: every branch of the engine, table-driven: the order of sources (P1, P2), every outcome,
// P4, A7, A9, N1/N2, H1, H2, E3, authzid, the legacy upgrade (P3) and bare-name resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../settings/backends/files/index.js';
import { dict, type CgDict } from '../settings/format/types.js';
import { Directory } from '../directory/directory.js';
import { AuthEngine, type AuthRequest, type OsPasswords } from './engine.js';
import { InProcessLockout } from './lockout.js';
import { PasswordService } from './password-service.js';
import { ExternalAuthenticator } from './sources/external/index.js';
import type { Credential, CredentialValue } from '../sasl/mechanism.js';

/** OS passwords for the branch tests; real PAM is tested in sources/os. */
class TableOs implements OsPasswords {
  readonly asked: string[] = [];
  constructor(private readonly users: Record<string, string | 'unavailable'>) {}
  async check(osUser: string, password: Buffer): Promise<'ok' | 'bad' | 'unavailable'> {
    this.asked.push(osUser);
    const want = this.users[osUser];
    if (want === 'unavailable') return 'unavailable';
    return want !== undefined && password.equals(Buffer.from(want)) ? 'ok' : 'bad';
  }
}

/** A helper program: VRFY ok for "ext-pass"; NEW creates the account's directory and says OK
 *  (as a real program would do through the API) for names starting with "new". */
const HELPER = `
const fs = require('fs'); const path = require('path');
const dataDir = process.argv[2];
let buf = '';
process.stdin.on('data', (d) => {
  buf += d; let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i).replace(/\\r$/, ''); buf = buf.slice(i + 1);
    const [seq, cmd, ...rest] = line.split(' ');
    let reply = 'ERROR no';
    if (cmd === 'INTF') reply = 'OK 2';
    else if (cmd === 'VRFY') { const args = rest[0].startsWith('(') ? rest.slice(1) : rest; if (args[1] === 'ext-pass') reply = 'OK'; }
    else if (cmd.startsWith('SASL(')) reply = 'ERROR unsupported SASL method';
    else if (cmd === 'NEW') {
      const [name, domain] = rest[0].split('@');
      if (name.startsWith('new')) {
        const dir = path.join(dataDir, 'Domains', domain, 'Accounts', name + '.macnt');
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, 'account.settings'), '{ Password = "{PLAIN}created-pass"; PasswordEncryption = clear; }\\n');
        reply = 'OK';
      }
    }
    process.stdout.write(seq + ' ' + reply + '\\n');
  }
});
process.stdin.on('end', () => process.exit(0));
`;

interface Fx { dir: string; d: Directory; engine: AuthEngine; os: TableOs; clock: { t: number }; ext: ExternalAuthenticator; passwords: PasswordService; done(): Promise<void> }

async function fixture(server: CgDict = dict()): Promise<Fx> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-engine-'));
  const store = await openFileStore(join(dir, 'data'));
  await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com', HideUnknownAccounts: 'NO', LoginFailureLimit: '3', LoginFailurePeriod: '60s', LoginFailureDelay: '0s', ...server }));
  const d = new Directory(store);
  await d.createDomain('example.com');
  await d.createDomain('corp.test', dict({ LocalIPAddresses: ['127.0.0.2'], ConsultExternalAuth: 'YES' }));
  const passwords = new PasswordService(d);
  const mk = async (domain: string, name: string, settings: Record<string, string | string[]>, password?: string) => {
    await d.createAccount(domain, name, dict(settings));
    if (password) await passwords.setPassword(domain, name, password);
  };
  await mk('example.com', 'alice', {}, 'alice-pass');
  await mk('example.com', 'clara', { PasswordEncryption: 'clear' }, 'clara-pass');
  await mk('example.com', 'osuser', { UseSysPassword: 'YES', OSUserName: 'mail-*' });
  await mk('example.com', 'mixed', { UseSysPassword: 'YES', UseExtPassword: 'YES' }, 'own-pass');
  await mk('example.com', 'secure', { RequireSecureMethod: 'YES', PasswordEncryption: 'clear' }, 'secure-pass');
  await mk('example.com', 'off', { AccessModes: ['None'] }, 'off-pass');
  await mk('example.com', 'imaponly', { AccessModes: ['IMAP'] }, 'imap-pass');
  await mk('example.com', 'empty', { PasswordEncryption: 'clear' });
  await mk('example.com', 'legacy', { Password: '{SSHA}' + sshaOf('legacy-pass', 'salt') });
  await mk('example.com', 'boss', {}, 'boss-pass');
  await d.writeRights('example.com', 'boss', ['UserAccounts']);
  await mk('corp.test', 'bob', {}, 'bob-pass');
  await mk('corp.test', 'dadmin', {}, 'dadmin-pass');
  await d.writeRights('corp.test', 'dadmin', ['DomainAdmin']);
  const helper = join(dir, 'helper.cjs');
  await writeFile(helper, HELPER);
  await chmod(helper, 0o755);
  const ext = new ExternalAuthenticator({ program: process.execPath, args: [helper, join(dir, 'data')], requestTimeoutMs: 5000 });
  ext.start();
  const os = new TableOs({ 'mail-osuser': 'os-pass', mixed: 'unavailable' });
  const clock = { t: 1_000_000 };
  const engine = new AuthEngine({ directory: d, lockout: new InProcessLockout(), passwords, os, external: () => ext, now: () => clock.t });
  return { dir, d, engine, os, clock, ext, passwords, async done() { await ext.stop(); await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

/** {SSHA} = base64(SHA1(password + salt) + salt), the form doveadm pw writes (src/passwords checks
 *  it against doveadm itself). */
function sshaOf(password: string, salt: string): string {
  return Buffer.concat([createHash('sha1').update(password).update(salt).digest(), Buffer.from(salt)]).toString('base64');
}

const pw = (p: string): Credential => ({ type: 'password', password: Buffer.from(p) });
const req = (login: string, credential: Credential, extra: Partial<AuthRequest> = {}): AuthRequest =>
  ({ login, credential, method: 'PLAIN', mode: 'IMAP', client: '127.0.0.1', secure: true, clearText: true, ...extra });

/** A challenge credential like CRAM-MD5's: it checks the clear secret it is handed. */
function cramLike(password: string): Credential {
  return { type: 'challenge', mechanism: 'CRAM-MD5', needs: 'clear', verify: (s: CredentialValue) => s.kind === 'clear' && s.password.equals(Buffer.from(password)), external: { response: 'x', challenge: '<1.2@h>' } };
}

test('engine outcome table: sources in order, every outcome', async () => {
  const f = await fixture();
  try {
    const rows: [string, AuthRequest, Record<string, unknown>][] = [
      ['own password', req('alice', pw('alice-pass')), { status: 'ok', source: 'own', account: 'alice', domain: 'example.com' }],
      ['name@domain, any case', req('ALICE@Example.COM', pw('alice-pass')), { status: 'ok', account: 'alice' }],
      ['wrong password', req('alice', pw('nope')), { status: 'bad-credentials' }],
      ['unknown account (Hide Unknown off)', req('ghost', pw('x')), { status: 'unknown' }],
      ['unknown domain', req('x@nowhere.test', pw('x')), { status: 'unknown' }],
      ['malformed login', req('a b', pw('x')), { status: 'unknown' }],
      ['P6: OS password through the OS User Name pattern', req('osuser', pw('os-pass')), { status: 'ok', source: 'os' }],
      ['P2: own fails, OS unavailable, external OK', req('mixed', pw('ext-pass')), { status: 'ok', source: 'external' }],
      ['P2: own first when it matches', req('mixed', pw('own-pass')), { status: 'ok', source: 'own' }],
      ['P2: a source that could not answer makes a temporary failure, not a bad password', req('mixed', pw('wrong')), { status: 'temporary-failure' }],
      ['P4: an absent own password never matches, even an empty one', req('empty', pw('')), { status: 'bad-credentials' }],
      ['A7: clear text over a clear link refused', req('secure', pw('secure-pass'), { secure: false }), { status: 'secure-method-required' }],
      ['A7: clear text over TLS accepted', req('secure', pw('secure-pass'), { secure: true }), { status: 'ok' }],
      ['A7: a secure method over a clear link accepted', req('secure', cramLike('secure-pass'), { secure: false, clearText: false }), { status: 'ok' }],
      ['disabled account', req('off', pw('off-pass')), { status: 'disabled' }],
      ['service not enabled for the account', req('imaponly', pw('imap-pass'), { mode: 'POP' }), { status: 'disabled' }],
      ['service enabled for the account', req('imaponly', pw('imap-pass'), { mode: 'IMAP' }), { status: 'ok' }],
      ['challenge with a clear stored password', req('clara', cramLike('clara-pass'), { clearText: false }), { status: 'ok', source: 'own' }],
      ['A9: challenge against a one-way password fails cleanly', req('alice', cramLike('alice-pass'), { clearText: false }), { status: 'bad-credentials' }],
      ['bare name on the local address of corp.test', req('bob', pw('bob-pass'), { local: '127.0.0.2' }), { status: 'ok', domain: 'corp.test' }],
      ['E3: NEW creates the account, the name is looked up again', req('newbie@corp.test', pw('created-pass')), { status: 'ok', account: 'newbie', domain: 'corp.test' }],
      ['E3: NEW refused stays unknown', req('other@corp.test', pw('x')), { status: 'unknown' }],
      ['authzid: a plain user may not act for another', req('alice', pw('alice-pass'), { authzid: 'clara' }), { status: 'bad-credentials' }],
      ['authzid: itself is fine', req('alice', pw('alice-pass'), { authzid: 'alice@example.com' }), { status: 'ok' }],
      ['authzid: UserAccounts may act for anyone', req('boss', pw('boss-pass'), { authzid: 'bob@corp.test' }), { status: 'ok', authzAccount: 'bob', authzDomain: 'corp.test' }],
      ['authzid: DomainAdmin within its domain', req('dadmin@corp.test', pw('dadmin-pass'), { authzid: 'bob@corp.test' }), { status: 'ok', authzAccount: 'bob' }],
      ['authzid: DomainAdmin not outside it', req('dadmin@corp.test', pw('dadmin-pass'), { authzid: 'alice@example.com' }), { status: 'bad-credentials' }],
    ];
    for (const [why, r, want] of rows) {
      const got = await f.engine.authenticate(r);
      for (const [k, v] of Object.entries(want)) assert.equal((got as Record<string, unknown>)[k], v, `${why}: ${JSON.stringify(got)}`);
    }
    assert.ok(f.os.asked.includes('mail-osuser'), 'P6: the pattern replaced * with the account name');
  } finally { await f.done(); }
});

test('N1, N2: non-client addresses are refused before anything about the account is checked', async () => {
  const f = await fixture(dict({ RejectNonClientLogins: 'YES', ClientIPAddresses: ['192.0.2.0/24'] }));
  try {
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass'), { client: '198.51.100.1' }))).status, 'not-client-address');
    assert.equal((await f.engine.authenticate(req('ghost', pw('x'), { client: '198.51.100.1' }))).status, 'not-client-address');
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass'), { client: '192.0.2.77' }))).status, 'ok');
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass'), { client: '::1' }))).status, 'ok', 'the server itself');
  } finally { await f.done(); }
});

test('H1: with Hide Unknown on, unknown, locked and disabled read as bad credentials', async () => {
  const f = await fixture(dict({ HideUnknownAccounts: 'YES' }));
  try {
    assert.equal((await f.engine.authenticate(req('ghost', pw('x')))).status, 'bad-credentials');
    assert.equal((await f.engine.authenticate(req('off', pw('off-pass')))).status, 'bad-credentials');
  } finally { await f.done(); }
});

test('H2: N failures within T lock the account on every method and mode, then it opens by itself; an admin can unlock', async () => {
  const f = await fixture();
  try {
    assert.equal((await f.engine.authenticate(req('alice', pw('w1'), { mode: 'IMAP' }))).status, 'bad-credentials');
    assert.equal((await f.engine.authenticate(req('alice', cramLike('w2'), { mode: 'POP', clearText: false }))).status, 'bad-credentials');
    assert.equal((await f.engine.authenticate(req('alice', pw('w3'), { mode: 'SMTP' }))).status, 'bad-credentials');
    const locked = await f.engine.authenticate(req('alice', pw('alice-pass'), { mode: 'HTTP' }));
    assert.equal(locked.status, 'locked', 'the right password is refused while locked');
    assert.deepEqual(await f.engine.lockoutState('example.com', 'alice'), { failures: 0, lockedUntil: f.clock.t + 60_000 });
    f.clock.t += 61_000;
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass')))).status, 'ok', 're-enabled after T');
    for (const w of ['a', 'b', 'c']) await f.engine.authenticate(req('alice', pw(w)));
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass')))).status, 'locked');
    await f.engine.unlock('example.com', 'alice');
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass')))).status, 'ok', 'unlocked by an admin');
    // Failures spread wider than T never lock.
    for (const w of ['a', 'b', 'c']) { await f.engine.authenticate(req('alice', pw(w))); f.clock.t += 31_000; }
    assert.equal((await f.engine.authenticate(req('alice', pw('alice-pass')))).status, 'ok');
  } finally { await f.done(); }
});

test('P3: a legacy hash that verifies is replaced by argon2id plus SCRAM keys at that login', async () => {
  const f = await fixture();
  try {
    assert.equal((await f.engine.authenticate(req('legacy', pw('legacy-pass')))).status, 'ok');
    let stored = '';
    for (let i = 0; i < 50 && !stored.startsWith('$argon2id$'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      stored = String((await f.d.accountSettings('example.com', 'legacy')).data.Password);
    }
    assert.match(stored, /^\$argon2id\$/);
    assert.equal((await f.engine.authenticate(req('legacy', pw('legacy-pass')))).status, 'ok', 'the upgraded hash verifies');
    const scram = await f.engine.scramParameters({ mode: 'IMAP', client: '127.0.0.1', secure: true }, 'legacy', 'SHA-256');
    assert.equal(scram.iterations, 4096);
  } finally { await f.done(); }
});

test('SCRAM parameters: stored keys for real accounts, stable fake ones for unknown names', async () => {
  const f = await fixture();
  try {
    const facts = { mode: 'IMAP' as const, client: '127.0.0.1', secure: true };
    const a1 = await f.engine.scramParameters(facts, 'ghost', 'SHA-256');
    const a2 = await f.engine.scramParameters(facts, 'ghost', 'SHA-256');
    assert.deepEqual(a1, a2, 'asking twice shows the same salt, as for a real account');
    const real = await f.engine.scramParameters(facts, 'alice', 'SHA-256');
    const stored = String(((await f.d.accountSettings('example.com', 'alice')).data.ScramKeys as string[])[0]);
    assert.ok(stored.includes(real.salt.toString('base64')), 'the salt of the stored SCRAM-SHA-256 keys');
  } finally { await f.done(); }
});

test('P5: after an OS login the user sets the own password, which then works', async () => {
  const f = await fixture();
  try {
    const o = await f.engine.authenticate(req('osuser', pw('os-pass')));
    assert.equal(o.status, 'ok');
    if (o.status !== 'ok') return;
    assert.equal(o.source, 'os');
    await f.passwords.changeOwnPassword(o, 'my-new-own-pass');
    const again = await f.engine.authenticate(req('osuser', pw('my-new-own-pass')));
    assert.equal(again.status === 'ok' && again.source, 'own');
  } finally { await f.done(); }
});


test('A2, A9: a one-way account stores SCRAM-SHA-256 and SCRAM-SHA-1 keys, so both SCRAM mechanisms can work', async () => {
  const f = await fixture();
  try {
    const keys = (await f.d.accountSettings('example.com', 'alice')).data.ScramKeys as string[];
    assert.deepEqual(keys.map((k) => /^\{(SCRAM-SHA-[0-9]+)\}/.exec(k)?.[1]).sort(), ['SCRAM-SHA-1', 'SCRAM-SHA-256']);
    const facts = { mode: 'IMAP' as const, client: '127.0.0.1', secure: true };
    const sha1 = await f.engine.scramParameters(facts, 'alice', 'SHA-1');
    assert.ok(keys.some((k) => k.startsWith('{SCRAM-SHA-1}') && k.includes(sha1.salt.toString('base64'))), 'the stored SHA-1 salt');
  } finally { await f.done(); }
});

test('H1, H2: every failure that can read as a wrong password waits LoginFailureDelay on a timer; success and other refusals do not', async () => {
  const f = await fixture(dict({ LoginFailureDelay: '1s', LoginFailureLimit: '2' }));
  try {
    const timed = async (r: AuthRequest): Promise<[string, number]> => {
      const t0 = performance.now();
      const o = await f.engine.authenticate(r);
      return [o.status, performance.now() - t0];
    };
    // Three failures run side by side: a timer, not a queue, so together they take one delay.
    const t0 = performance.now();
    const fails = await Promise.all([timed(req('alice', pw('nope'))), timed(req('nobody', pw('x'))), timed(req('off', pw('off-pass')))]);
    const together = performance.now() - t0;
    assert.deepEqual(fails.map(([s]) => s), ['bad-credentials', 'unknown', 'disabled']);
    for (const [s, ms] of fails) assert.ok(ms >= 990, `${s} answered after ${ms.toFixed(0)} ms, before the 1 s delay`);
    assert.ok(together < 1900, `the delays overlap (${together.toFixed(0)} ms for three)`);
    // alice has two failures now (limit 2): locked, and the lock waits too.
    await f.engine.authenticate(req('alice', pw('nope')));
    const [locked, lockedMs] = await timed(req('alice', pw('alice-pass')));
    assert.equal(locked, 'locked');
    assert.ok(lockedMs >= 990, `locked answered after ${lockedMs.toFixed(0)} ms`);
    const [ok, okMs] = await timed(req('clara', pw('clara-pass')));
    assert.equal(ok, 'ok');
    assert.ok(okMs < 500, `a right password is not delayed (${okMs.toFixed(0)} ms)`);
    // A7 is not a guess: it is answered at once (the client can retry over TLS).
    const [a7, a7Ms] = await timed(req('secure', pw('secure-pass'), { secure: false }));
    assert.equal(a7, 'secure-method-required');
    assert.ok(a7Ms < 500, `A7 refusal not delayed (${a7Ms.toFixed(0)} ms)`);
  } finally {
    await f.done();
  }
});
