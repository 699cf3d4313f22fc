// P3: new passwords are stored as argon2id plus SCRAM-SHA-256 keys (both checked by doveadm, an
// independent verifier), or as clear text; a legacy hash that verifies is upgraded. H1: the dummy
// verification for unknown names uses today's parameters and costs what a real one costs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ARGON2ID_PARAMS, closeCryptPool, DUMMY_HASH, dummyVerify, hashNewPassword, identify, verify,
} from './index.js';
import { runTool, toolOutput } from './testing/tools.js';

after(() => closeCryptPool());

const ONE_WAY = { encryption: 'one-way' } as const;

async function doveadmAccepts(stored: string, password: string): Promise<boolean> {
  const r = await runTool('doveadm', ['pw', '-t', stored, '-p', password]);
  return r.code === 0;
}

test('P3: one-way: argon2id with the current parameters plus SCRAM-SHA-256 keys, both verified by doveadm', async () => {
  for (const pw of ['correct horse battery', 'pässwörd€']) {
    const made = await hashNewPassword(pw, ONE_WAY);
    assert.ok(made.ok);
    const { memoryCost: m, timeCost: t, parallelism: p } = ARGON2ID_PARAMS;
    assert.match(made.password, new RegExp(`^\\$argon2id\\$v=19\\$m=${m},t=${t},p=${p}\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}$`));
    assert.deepEqual(Object.keys(made.scram ?? {}), ['SHA-256']);
    const scram = made.scram?.['SHA-256'] ?? '';
    assert.match(scram, /^\{SCRAM-SHA-256\}65536,/);

    assert.equal(await doveadmAccepts(`{ARGON2ID}${made.password}`, pw), true, 'doveadm refused our argon2id');
    assert.equal(await doveadmAccepts(`{ARGON2ID}${made.password}`, pw + 'x'), false, 'doveadm accepted a wrong password');
    assert.equal(await doveadmAccepts(scram, pw), true, 'doveadm refused our SCRAM keys');
    assert.equal(await doveadmAccepts(scram, pw + 'x'), false);

    assert.deepEqual(await verify(pw, made.password, ONE_WAY), { ok: true, needsUpgrade: false, scheme: 'argon2id' });
    assert.equal((await verify(pw, scram, ONE_WAY)).ok, true);
  }
});

test('P3: SCRAM-SHA-1 keys on request, and the iteration count option', async () => {
  const made = await hashNewPassword('pencil', { encryption: 'one-way', scramIterations: 4096, scramAlgorithms: ['SHA-1', 'SHA-256'] });
  assert.ok(made.ok);
  const sha1 = made.scram?.['SHA-1'] ?? '';
  assert.match(sha1, /^\{SCRAM-SHA-1\}4096,/);
  assert.match(made.scram?.['SHA-256'] ?? '', /^\{SCRAM-SHA-256\}4096,/);
  assert.equal(await doveadmAccepts(sha1, 'pencil'), true);
  await assert.rejects(hashNewPassword('pencil', { encryption: 'one-way', scramIterations: 100 }), RangeError);
});

test('P3: clear encryption stores the password (escaped when needed); odd inputs are refused as values', async () => {
  assert.deepEqual(await hashNewPassword('pencil', { encryption: 'clear' }), { ok: true, password: 'pencil' });
  assert.deepEqual(await hashNewPassword('{SSHA}x', { encryption: 'clear' }), { ok: true, password: '{PLAIN}{SSHA}x' });
  assert.deepEqual(await hashNewPassword(Buffer.from([0x61, 0xff]), ONE_WAY), { ok: false, reason: 'not-utf8' });
  // SASLprep prohibits controls: the argon2id hash is made, SCRAM keys cannot be.
  const ctl = await hashNewPassword('a\u0001b', ONE_WAY);
  assert.ok(ctl.ok && ctl.scram === undefined && identify(ctl.password).status === 'parsed');
  assert.equal((await verify('a\u0001b', ctl.ok ? ctl.password : '', ONE_WAY)).ok, true);
});

test('P3: a legacy hash that verifies asks for an upgrade; the upgraded form verifies without one', async () => {
  const legacy = await toolOutput('openssl', ['passwd', '-6', 'upgrade me']);
  const first = await verify('upgrade me', legacy, ONE_WAY);
  assert.deepEqual(first, { ok: true, needsUpgrade: true, scheme: 'sha512-crypt' });
  const made = await hashNewPassword('upgrade me', ONE_WAY);
  assert.ok(made.ok);
  assert.deepEqual(await verify('upgrade me', made.password, ONE_WAY), { ok: true, needsUpgrade: false, scheme: 'argon2id' });
});

test('H1: the dummy hash uses the current argon2id parameters and never verifies', async () => {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(DUMMY_HASH);
  assert.ok(m, 'DUMMY_HASH is not argon2id');
  assert.deepEqual([Number(m[1]), Number(m[2]), Number(m[3])], [ARGON2ID_PARAMS.memoryCost, ARGON2ID_PARAMS.timeCost, ARGON2ID_PARAMS.parallelism],
    'ARGON2ID_PARAMS changed: regenerate DUMMY_HASH with them');
  const id = identify(DUMMY_HASH);
  assert.ok(id.status === 'parsed' && id.parsed.upToDate);
  for (const pw of ['', 'x', 'password', 'a'.repeat(100)]) assert.equal((await dummyVerify(pw)).ok, false);
});

test('H1: dummyVerify takes about as long as a real wrong-password verification (medians within 2x)', async () => {
  // A coarse check of the module's part; the engine's test compares the two outcomes statistically.
  const made = await hashNewPassword('real password', ONE_WAY);
  assert.ok(made.ok);
  const real: number[] = [];
  const dummy: number[] = [];
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    await verify('wrong password', made.password, ONE_WAY);
    real.push(performance.now() - t);
    t = performance.now();
    await dummyVerify('wrong password');
    dummy.push(performance.now() - t);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const ratio = median(dummy) / median(real);
  assert.ok(ratio > 0.5 && ratio < 2, `dummy ${median(dummy).toFixed(1)} ms vs real ${median(real).toFixed(1)} ms`);
});
