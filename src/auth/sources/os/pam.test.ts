// P6: OS passwords through PAM, against real OS users (useradd + chpasswd; run as root, as CI is).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { configureLogging, Secret, type LogRecord } from '../../../core/log.js';
import { isMailwardError } from '../../../core/errors.js';
import { OsPasswordChecker, OS_AUTH_DEFAULT_HELPER, osUserName } from './index.js';

// dist/src/auth/sources/os/ -> the repository root is five levels up.
const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const BUILD = join(ROOT, 'scripts', 'build-pam-helper.sh');

const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { OSAUTH: 'all' } });

const tag = randomBytes(3).toString('hex');
const USER = `mwtest-${tag}`;
const MAIL_USER = `mail-mwtest-${tag}`; // for the pattern `mail-*`
const PCT_USER = `mwtest-${tag}%corp`; // for the pattern `*%corp`
const EXPIRED = `mwtest-${tag}-x`;
const PASSWORD = 'Pä55 wörd with spaces';
const SERVICE = `mwtest-${tag}`;
const HANG_SERVICE = `mwtest-${tag}-hang`;
/** pam_exec runs this; long enough that only the time-out can end the check in time. */
const HANG_SECONDS = 8;
const tmp = mkdtempSync(join(tmpdir(), 'mw-pam-'));
const made: string[] = [];
const files: string[] = [];

function run(cmd: string, args: string[], input?: string): void {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} cannot run (${r.error.message}): it comes with the Debian package passwd`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function addUser(name: string, password: string): void {
  run('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', name]);
  made.push(name);
  run('chpasswd', [], `${name}:${password}\n`);
}

before(() => {
  assert.equal(process.getuid?.(), 0, 'the PAM tests create OS users and must run as root (CI does)');
  const b = spawnSync('sh', [BUILD], { encoding: 'utf8' });
  assert.equal(b.status, 0, `scripts/build-pam-helper.sh failed (Debian packages gcc and libpam0g-dev): ${b.stderr}`);
  assert.ok(existsSync(OS_AUTH_DEFAULT_HELPER));
  assert.ok(existsSync('/lib/x86_64-linux-gnu/security/pam_unix.so') || existsSync('/usr/lib/x86_64-linux-gnu/security/pam_unix.so') || spawnSync('sh', ['-c', 'ls /lib/*/security/pam_unix.so /usr/lib/*/security/pam_unix.so']).status === 0,
    'pam_unix.so missing: Debian package libpam-modules');
  addUser(USER, PASSWORD);
  addUser(MAIL_USER, 'mail-pw');
  addUser(PCT_USER, 'pct-pw');
  addUser(EXPIRED, 'exp-pw');
  run('chage', ['-E', '0', EXPIRED]);
  // pam_unix without its 2 s failure delay, so the wrong-password tests are quick.
  writeFileSync(`/etc/pam.d/${SERVICE}`, 'auth required pam_unix.so nodelay\naccount required pam_unix.so\n');
  writeFileSync(`/etc/pam.d/${HANG_SERVICE}`, `auth required pam_exec.so /bin/sleep ${HANG_SECONDS}\naccount required pam_unix.so\n`);
  files.push(`/etc/pam.d/${SERVICE}`, `/etc/pam.d/${HANG_SERVICE}`);
});

after(() => {
  for (const u of made) spawnSync('userdel', [u]);
  for (const f of files) rmSync(f, { force: true });
  rmSync(tmp, { recursive: true, force: true });
});

/** Dead: no such process, or a zombie (an orphan's exit waits for PID 1 to reap it, and in some
 *  containers PID 1 never does). */
function isGone(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return true; }
  try { return /^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return true; }
}

const checker = (opts: ConstructorParameters<typeof OsPasswordChecker>[0] = {}): OsPasswordChecker => new OsPasswordChecker({ service: SERVICE, ...opts });

void test('P6: a real OS user with the right password is ok; the wrong password is bad', async () => {
  const c = checker();
  assert.deepEqual(await c.check({ osUser: USER, password: new Secret(PASSWORD), remoteAddress: '192.0.2.7' }), { status: 'ok' });
  assert.deepEqual(await c.check({ osUser: USER, password: 'Pä55 wörd with space' }), { status: 'bad' });
  assert.deepEqual(await c.check({ osUser: USER, password: Buffer.from(PASSWORD, 'utf8') }), { status: 'ok' });
});

void test('P6: an unknown OS user is reported as such when the PAM stack can tell', async () => {
  assert.deepEqual(await checker().check({ osUser: `mwtest-${tag}-nobody`, password: 'x' }), { status: 'unknown-user' });
});

void test('P6: the OS User Name pattern: mail-* and *%corp (the % part is just part of a Unix name)', async () => {
  const account = `mwtest-${tag}`;
  const mail = osUserName('mail-*', account);
  const pct = osUserName('*%corp', account);
  assert.deepEqual(mail, { ok: true, name: MAIL_USER });
  assert.deepEqual(pct, { ok: true, name: PCT_USER });
  assert.deepEqual(await checker().check({ osUser: mail.ok ? mail.name : '', password: 'mail-pw' }), { status: 'ok' });
  assert.deepEqual(await checker().check({ osUser: pct.ok ? pct.name : '', password: 'pct-pw' }), { status: 'ok' });
  assert.deepEqual(await checker().check({ osUser: USER, password: 'mail-pw' }), { status: 'bad' }, 'another user\'s password');
});

void test('P6: the right password of an expired account is refused by PAM\'s account check', async () => {
  assert.deepEqual(await checker().check({ osUser: EXPIRED, password: 'exp-pw' }), { status: 'bad', detail: 'account-refused' });
  assert.deepEqual(await checker().check({ osUser: EXPIRED, password: 'nope' }), { status: 'bad' });
});

void test('P6: a hung PAM module times out, and the helper is killed', async () => {
  const c = checker({ service: HANG_SERVICE, timeoutMs: 700 });
  const before = records.length;
  const t0 = Date.now();
  assert.deepEqual(await c.check({ osUser: USER, password: PASSWORD }), { status: 'timeout' });
  const ms = Date.now() - t0;
  assert.ok(ms >= 690 && ms < 4000, `timed out after ${ms} ms (PAM alone would take ${HANG_SECONDS} s)`);
  const rec = records.slice(before).find((r) => r.event === 'osauth.timeout');
  assert.ok(rec && typeof rec.pid === 'number');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(isGone(rec.pid as number), 'the helper is gone');
});

void test('P6: a hung helper is killed with its whole process group', async () => {
  const pidFile = join(tmp, 'child.pid');
  const fake = join(tmp, 'fake-helper.sh');
  writeFileSync(fake, `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`);
  chmodSync(fake, 0o755);
  const c = checker({ helperPath: fake, timeoutMs: 400 });
  assert.deepEqual(await c.check({ osUser: USER, password: 'x' }), { status: 'timeout' });
  await new Promise((r) => setTimeout(r, 200));
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(grandchild > 0);
  assert.ok(isGone(grandchild), 'the helper\'s own child is gone too');
});

void test('P6: a missing helper is unavailable, never a throw', async () => {
  const o = await checker({ helperPath: join(tmp, 'no-such-helper') }).check({ osUser: USER, password: 'x' });
  assert.equal(o.status, 'unavailable');
  assert.match(o.status === 'unavailable' ? o.reason : '', /ENOENT/);
});

void test('P6: checks beyond the concurrency bound queue, within the same time-out', async () => {
  const c = checker({ maxConcurrent: 3 });
  const outs = await Promise.all(Array.from({ length: 12 }, (_, i) => c.check({ osUser: USER, password: i % 2 ? PASSWORD : 'wrong' })));
  outs.forEach((o, i) => assert.deepEqual(o, i % 2 ? { status: 'ok' } : { status: 'bad' }, `check ${i}`));
  const h = checker({ service: HANG_SERVICE, maxConcurrent: 1, maxQueue: 1, timeoutMs: 500 });
  const t0 = Date.now();
  const [a, b, overflow] = await Promise.all([1, 2, 3].map(() => h.check({ osUser: USER, password: PASSWORD })));
  assert.deepEqual(a, { status: 'timeout' });
  assert.deepEqual(b, { status: 'timeout' }, 'the queued one times out too, not later');
  assert.deepEqual(overflow, { status: 'unavailable', reason: 'overloaded' });
  assert.ok(Date.now() - t0 < 2500, 'the queued check did not wait a second time-out');
  // The slot comes back once the killed helper is reaped.
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(await checker({ maxConcurrent: 1 }).check({ osUser: USER, password: PASSWORD }), { status: 'ok' });
});

void test('P6: passwords PAM cannot take are refused before any process starts', async () => {
  const c = checker({ helperPath: join(tmp, 'no-such-helper') }); // would be unavailable if it ran
  const rows: [string, string | Buffer][] = [
    ['empty: must never let anyone in (P4), and pam_unix nullok would accept it for an empty hash', ''],
    ['NUL: C would cut "secret\\0x" to "secret"', 'secret\0x'],
    ['longer than PAM_MAX_RESP_SIZE', 'a'.repeat(512)],
  ];
  for (const [why, password] of rows) assert.deepEqual(await c.check({ osUser: USER, password }), { status: 'bad', detail: 'unusable-password' }, why);
  for (const osUser of ['', '-rf', 'a b', 'a/b', 'a:b', 'a\nb', 'x'.repeat(256)]) {
    assert.deepEqual(await c.check({ osUser, password: 'p' }), { status: 'unknown-user' }, JSON.stringify(osUser));
  }
});

void test('P6: the service name must be a plain file name in /etc/pam.d', () => {
  for (const s of ['../shadow', 'a/b', '', '.hidden', 'x'.repeat(65), 'a b', 'a\0b']) {
    assert.throws(() => new OsPasswordChecker({ service: s }), (e) => isMailwardError(e, 'settings.invalid'), JSON.stringify(s));
  }
  assert.equal(new OsPasswordChecker().service, 'mailward');
});

void test('P6: without /etc/pam.d/<service>, PAM uses "other" (Debian: the system stack) and a warning is logged', async () => {
  const missing = `mwtest-${tag}-absent`;
  const c = new OsPasswordChecker({ service: missing });
  assert.deepEqual(await c.check({ osUser: USER, password: PASSWORD }), { status: 'ok' });
  assert.ok(records.some((r) => r.event === 'osauth.service-missing' && r.service === missing));
});

void test('P6 fuzz: the helper\'s input parser turns any bytes into "valid" or "malformed", never a crash', () => {
  const exit = (input: Uint8Array): number | null => {
    const r = spawnSync(OS_AUTH_DEFAULT_HELPER, ['--parse-only'], { input });
    assert.equal(r.signal, null, 'killed by a signal');
    return r.status;
  };
  const rows: [string, string][] = [
    ['three fields only', 'svc\0user\0pw\0'],
    ['a fifth field', 'svc\0user\0pw\0\0extra\0'],
    ['no final NUL', 'svc\0user\0pw\0host'],
    ['service with a slash', '../x\0user\0pw\0\0'],
    ['empty user', 'svc\0\0pw\0\0'],
    ['user with a space', 'svc\0a b\0pw\0\0'],
    ['user starting with -', 'svc\0-x\0pw\0\0'],
    ['empty password', 'svc\0user\0\0\0'],
    ['password over 511 bytes', `svc\0user\0${'p'.repeat(512)}\0\0`],
    ['rhost with a space', 'svc\0user\0pw\0a b\0'],
    ['more than the input limit', `svc\0user\0pw\0${'h'.repeat(3000)}\0`],
    ['nothing at all', ''],
  ];
  for (const [why, input] of rows) assert.equal(exit(Buffer.from(input)), 64, why);
  assert.equal(exit(Buffer.from('svc\x00user\x00p w\x00192.0.2.1\x00')), 0);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    assert.ok([0, 64].includes(exit(bytes) as number));
  }), { numRuns: 150 });
  const field = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => /^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(s));
  fc.assert(fc.property(field, field, fc.string({ unit: 'binary', minLength: 1, maxLength: 100 }).filter((s) => !s.includes('\0') && Buffer.byteLength(s) <= 511), (svc, user, pw) => {
    assert.equal(exit(Buffer.from(`${svc}\0${user}\0${pw}\0\0`)), 0);
  }), { numRuns: 100 });
});

void test('W4: no password appeared in any OSAUTH record', () => {
  assert.ok(records.length > 10);
  const text = JSON.stringify(records);
  for (const s of [PASSWORD, 'mail-pw', 'pct-pw', 'exp-pw']) assert.ok(!text.includes(s), `${s} leaked`);
});
