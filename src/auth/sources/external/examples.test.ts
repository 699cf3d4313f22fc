// E3, E5: the sample programs in examples/, run end to end through the client.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureLogging, type LogRecord } from '../../../core/log.js';
import { ExternalAuthenticator } from './index.js';

// dist/src/auth/sources/external/ -> the repository root is five levels up.
const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
const FILE_SAMPLE = join(ROOT, 'examples', 'extauth-file.mjs');
const CREATE_SAMPLE = join(ROOT, 'examples', 'extauth-create-account.mjs');
const RECORDER = fileURLToPath(new URL('./test-fixtures/record-command.js', import.meta.url));

const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { EXTAUTH: 'all' } });

const dir = mkdtempSync(join(tmpdir(), 'mw-extauth-'));
const clients: ExternalAuthenticator[] = [];
after(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function started(program: string, args: string[], env?: NodeJS.ProcessEnv): Promise<ExternalAuthenticator> {
  const c = new ExternalAuthenticator({ program: process.execPath, args: [program, ...args], env: env ? { ...process.env, ...env } : undefined, requestTimeoutMs: 5000 });
  clients.push(c);
  c.start();
  const t0 = Date.now();
  while (c.status().state !== 'running') {
    if (Date.now() - t0 > 5000) throw new Error(`${program} did not answer INTF`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return c;
}

/** A `name@domain:{SSHA512}` line made here, not by the sample, from RFC 2307's layout. */
function ssha512Line(address: string, password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha512').update(password).update(salt).digest();
  return `${address}:{SSHA512}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function sampleHashLine(address: string, password: string): string {
  const r = spawnSync(process.execPath, [FILE_SAMPLE, '--hash', address], { input: `${password}\n`, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

void test('E5: extauth-file.mjs checks passwords from a file of hashed users, through the client', async () => {
  assert.ok(existsSync(FILE_SAMPLE), FILE_SAMPLE);
  const users = join(dir, 'users');
  const hashed = sampleHashLine('Alice@Example.com', 'correct horse battery');
  assert.match(hashed, /^alice@example\.com:\{SSHA256\}[A-Za-z0-9+/]+=*$/);
  assert.ok(!hashed.includes('correct horse'));
  writeFileSync(users, `# test users\n\n${hashed}\n${ssha512Line('bob@example.com', 'b0b-pw')}\nbroken line\n`);
  const c = await started(FILE_SAMPLE, [users]);
  assert.equal(c.status().version, 2);

  assert.deepEqual(await c.verify({ name: 'alice', domain: 'example.com', password: 'correct horse battery', mode: 'IMAP' }), { status: 'ok', detail: '' });
  assert.deepEqual(await c.verify({ name: 'ALICE', domain: 'EXAMPLE.COM', password: 'correct horse battery' }), { status: 'ok', detail: '' });
  assert.deepEqual(await c.verify({ name: 'bob', domain: 'example.com', password: 'b0b-pw', mode: 'POP' }), { status: 'ok', detail: '' });
  assert.deepEqual(await c.verify({ name: 'alice', domain: 'example.com', password: 'correct horse' }), { status: 'error', message: 'incorrect password', origin: 'program' });
  assert.deepEqual(await c.verify({ name: 'carol', domain: 'example.com', password: 'x' }), { status: 'error', message: 'unknown user', origin: 'program' });
  assert.deepEqual(await c.sasl({ method: 'CRAM-MD5', name: 'alice', domain: 'example.com', password: 'abc', key: '<1.2@h>' }), { status: 'error', message: 'unsupported SASL method', origin: 'program' });
  assert.deepEqual(await c.newName({ name: 'dave', domain: 'example.com' }), { status: 'error', message: 'this account is not known', origin: 'program' });

  // The file is read again when it changes.
  appendFileSync(users, `${sampleHashLine('carol@example.com', 'c-pw')}\n`);
  assert.deepEqual(await c.verify({ name: 'carol', domain: 'example.com', password: 'c-pw' }), { status: 'ok', detail: '' });

  // Concurrent requests, each matched.
  const outs = await Promise.all(Array.from({ length: 200 }, (_, i) => c.verify({ name: i % 2 ? 'bob' : 'alice', domain: 'example.com', password: i % 4 < 2 ? (i % 2 ? 'b0b-pw' : 'correct horse battery') : 'nope', mode: 'SMTP' })));
  outs.forEach((o, i) => assert.equal(o.status, i % 4 < 2 ? 'ok' : 'error', `request ${i}`));

  // It quits by itself on end of stdin.
  const pid = c.status().pid;
  const t0 = Date.now();
  await c.stop();
  assert.ok(Date.now() - t0 < 3000, 'well before the 5 s kill');
  assert.equal(records.some((r) => r.event === 'extauth.kill' && r.pid === pid), false);
});

void test('E3, E5: extauth-create-account.mjs creates listed accounts through the configured command, once per name', async () => {
  assert.ok(existsSync(CREATE_SAMPLE), CREATE_SAMPLE);
  const list = join(dir, 'known');
  const log = join(dir, 'created');
  writeFileSync(list, '# legacy users\nBob@Example.com\nfail-me@example.com\nslow@example.com\n');
  const c = await started(CREATE_SAMPLE, [list], {
    MAILWARD_CREATE_COMMAND: JSON.stringify([process.execPath, RECORDER, 'account', 'create', '{address}', '--data', '{data}']),
    MAILWARD_DATA: '/srv/mailward-data',
    RECORD_FILE: log,
    SLEEP_MS: '150',
  });
  assert.deepEqual(await c.newName({ name: 'bob', domain: 'example.com' }), { status: 'ok', detail: '' });
  assert.deepEqual(await c.newName({ name: 'mallory', domain: 'example.com' }), { status: 'error', message: 'this account is not known', origin: 'program' });
  assert.deepEqual(await c.newName({ name: 'fail-me', domain: 'example.com' }), { status: 'error', message: 'account creation failed', origin: 'program' });
  const three = await Promise.all([1, 2, 3].map(() => c.newName({ name: 'slow', domain: 'example.com' })));
  for (const o of three) assert.deepEqual(o, { status: 'ok', detail: '' });
  assert.deepEqual(await c.verify({ name: 'bob', domain: 'example.com', password: 'p' }), { status: 'error', message: 'this program only answers NEW', origin: 'program' });
  await c.stop();
  const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
  assert.deepEqual(calls, [
    ['account', 'create', 'bob@example.com', '--data', '/srv/mailward-data'],
    ['account', 'create', 'fail-me@example.com', '--data', '/srv/mailward-data'],
    ['account', 'create', 'slow@example.com', '--data', '/srv/mailward-data'],
  ]);
});

void test('E5: extauth-create-account.mjs refuses to start with a malformed command setting', () => {
  const r = spawnSync(process.execPath, [CREATE_SAMPLE, join(dir, 'known')], { input: '', encoding: 'utf8', env: { ...process.env, MAILWARD_CREATE_COMMAND: '"mailward account create"' } });
  assert.equal(r.status, 64);
  assert.match(r.stderr, /JSON array of strings/);
});
