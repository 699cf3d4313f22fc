import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { login, LOGIN_MAX_IDENTITY, LOGIN_MAX_PASSWORD } from './login.js';
import { assertFailure, fuzzMechanism, hostileInput, last, makeCtx, runSteps } from '../test/mech-helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

void test('A1 LOGIN: Username:/Password: challenges, then one port call with the clear password', async () => {
  const ctx = makeCtx();
  const steps = await runSteps(login, ctx, [null, b('tim'), b('tanstaaftanstaaf')]);
  assert.deepEqual(steps.slice(0, 2).map((s) => (s.type === 'challenge' ? s.data.toString() : s.type)), ['Username:', 'Password:']);
  const s = last(steps);
  assert.equal(s.type, 'success');
  if (s.type === 'success') assert.equal(s.authcid, 'tim');
  assert.deepEqual(ctx.port.calls.map((c) => [c.login, c.method, c.clearText, c.authzid]), [['tim', 'LOGIN', true, undefined]]);
});

void test('A1 LOGIN: an initial response is the user name (Python smtplib `AUTH LOGIN <b64 user>`)', async () => {
  const ctx = makeCtx();
  const steps = await runSteps(login, ctx, [b('tim'), b('tanstaaftanstaaf')]);
  assert.equal(steps[0]?.type === 'challenge' && steps[0].data.toString(), 'Password:');
  assert.equal(last(steps).type, 'success');
});

void test('A1 LOGIN: wrong password → bad-credentials; a password in a legacy charset reaches the port as bytes', async () => {
  assertFailure(last(await runSteps(login, makeCtx(), [null, b('tim'), b('nope')])), 'bad-credentials');
  const ctx = makeCtx();
  // "pässwörd" in ISO 8859-1 is not the stored UTF-8 password: refused by the port, not by a parser.
  assertFailure(last(await runSteps(login, ctx, [null, b('unicode'), Buffer.from('pässwörd', 'latin1')])), 'bad-credentials');
  assert.equal(ctx.port.calls.length, 1);
  assert.equal(last(await runSteps(login, makeCtx(), [null, b('unicode'), b('pässwörd')])).type, 'success');
});

void test('A1 LOGIN: malformed-input table (each row says why)', async () => {
  const rows: [string, (Buffer | null)[], string][] = [
    ['empty user name: nothing to look up', [null, b('')], 'empty user name'],
    ['empty initial response "=" as the user name', [Buffer.alloc(0)], 'empty user name'],
    ['NUL in the user name: would truncate in C-string backends', [null, b('tim\0x')], 'control character in user name'],
    ['CRLF in the user name: would inject a command into the backend LOGIN', [null, b('tim\r\nA1 LOGOUT')], 'control character in user name'],
    ['user name not UTF-8', [null, Buffer.from([0xff, 0x41])], 'user name not UTF-8'],
    ['user name over the limit', [null, b('u'.repeat(LOGIN_MAX_IDENTITY + 1))], 'user name too long'],
    ['empty password', [null, b('tim'), b('')], 'empty password'],
    ['NUL in the password: OS/external authentication would see a shorter one', [null, b('tim'), b('tanstaaf\0tanstaaf')], 'control character in password'],
    ['LF in the password: breaks the external-authentication line protocol', [null, b('tim'), b('a\nb')], 'control character in password'],
    ['password over the limit: bounds hashing work', [null, b('tim'), b('p'.repeat(LOGIN_MAX_PASSWORD + 1))], 'password too long'],
  ];
  for (const [why, inputs, reason] of rows) {
    const ctx = makeCtx();
    const s = last(await runSteps(login, ctx, inputs));
    assert.equal(s.type, 'failure', why);
    if (s.type === 'failure') assert.deepEqual(s.failure, { status: 'malformed', reason }, why);
    assert.equal(ctx.port.calls.length, 0, why);
  }
});

void test('A1 LOGIN: step order — absent input mid-exchange and steps after completion fail', async () => {
  const ex = login.start(makeCtx());
  await ex.step(null);
  assertFailure(await ex.step(null), 'malformed', 'missing response');
  assertFailure(await ex.step(b('tim')), 'malformed', 'step after completion');
  const ctx = makeCtx();
  const ex2 = login.start(ctx);
  await ex2.step(b('tim'));
  assert.equal((await ex2.step(b('tanstaaftanstaaf'))).type, 'success');
  assertFailure(await ex2.step(b('again')), 'malformed', 'step after completion');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A1 LOGIN: fuzz — hostile bytes at every step give clean steps', async () => {
  await fuzzMechanism(login, hostileInput([fc.constant('tim'), fc.constant('tanstaaftanstaaf'), fc.constant('\0'), fc.constant('\r\n')]));
});
