import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plain, parsePlainMessage, PLAIN_MAX_IDENTITY, PLAIN_MAX_PASSWORD } from './plain.js';
import { assertFailure, fuzzMechanism, hostileInput, last, makeCtx, runSteps } from '../test/mech-helpers.js';

const msg = (s: string): Buffer => Buffer.from(s, 'utf8');

void test('A1 PLAIN: RFC 4616 §4 examples (tim/tanstaaftanstaaf, with and without authzid)', async () => {
  // RFC 4616 §4: "\0tim\0tanstaaftanstaaf" and "Ursel\0Kurt\0xipj3plmq" (the second acts for Ursel).
  let ctx = makeCtx();
  const s = last(await runSteps(plain, ctx, [msg('\0tim\0tanstaaftanstaaf')]));
  assert.equal(s.type, 'success');
  if (s.type === 'success') {
    assert.equal(s.authcid, 'tim');
    assert.equal(s.authzid, undefined);
    assert.equal(s.outcome.account, 'tim');
  }
  assert.deepEqual(ctx.port.calls.map((c) => [c.login, c.authzid, c.method, c.clearText]), [['tim', undefined, 'PLAIN', true]]);

  ctx = makeCtx({}, { kurt: { password: 'xipj3plmq', mayActFor: ['ursel'] }, ursel: { password: 'other' } });
  const s2 = last(await runSteps(plain, ctx, [msg('Ursel\0Kurt\0xipj3plmq')]));
  assert.equal(s2.type, 'success');
  if (s2.type === 'success') {
    assert.equal(s2.authcid, 'Kurt');
    assert.equal(s2.authzid, 'Ursel');
    assert.equal(s2.outcome.authzAccount, 'ursel');
  }
  assert.equal(ctx.port.calls[0]?.authzid, 'Ursel', 'authzid reaches the port as sent');
});

void test('A1 PLAIN: no initial response → empty challenge, then the message', async () => {
  const ctx = makeCtx();
  const steps = await runSteps(plain, ctx, [null, msg('\0tim\0tanstaaftanstaaf')]);
  assert.equal(steps[0]?.type, 'challenge');
  if (steps[0]?.type === 'challenge') assert.equal(steps[0].data.length, 0);
  assert.equal(last(steps).type, 'success');
});

void test('A1 PLAIN: wrong password and unknown user are the port outcomes, one call each', async () => {
  const ctx = makeCtx();
  assertFailure(last(await runSteps(plain, ctx, [msg('\0tim\0wrong')])), 'bad-credentials');
  const ctx2 = makeCtx();
  assertFailure(last(await runSteps(plain, ctx2, [msg('\0nobody\0x')])), 'unknown');
  assert.equal(ctx.port.calls.length + ctx2.port.calls.length, 2);
});

void test('A1 PLAIN: authzid is never granted by the mechanism (maddy CVE-2023-27582 regression)', async () => {
  // maddy < 0.6.3 checked bob's password and then logged the client in as the authzid. Here
  // bob's password is right, bob may not act for boss: refused, and nobody is logged in.
  const ctx = makeCtx();
  const s = last(await runSteps(plain, ctx, [msg('boss\0bob\0bobpass')]));
  assertFailure(s, 'bad-credentials');
  assert.equal(ctx.port.calls.length, 1);
  assert.equal(ctx.port.calls[0]?.login, 'bob');
  assert.equal(ctx.port.calls[0]?.authzid, 'boss');
  // An empty authcid with an authzid (nodemailer smtp-server #261: falls back to the authzid)
  // is malformed and never reaches the port.
  const ctx2 = makeCtx();
  assertFailure(last(await runSteps(plain, ctx2, [msg('bob\0\0bobpass')])), 'malformed', 'empty authcid');
  assert.equal(ctx2.port.calls.length, 0);
  // The account holding the right gets it, and the success says who acts for whom.
  const ctx3 = makeCtx();
  const ok = last(await runSteps(plain, ctx3, [msg('bob\0boss\0bosspass')]));
  assert.equal(ok.type, 'success');
  if (ok.type === 'success') {
    assert.equal(ok.outcome.account, 'boss');
    assert.equal(ok.outcome.authzAccount, 'bob');
    assert.equal(ok.authzid, 'bob');
  }
});

void test('A1 PLAIN: malformed-input table (each row says why)', async () => {
  const rows: [string, Buffer, string][] = [
    ['no separator at all: not a PLAIN message', msg('timtanstaaf'), 'missing NUL separators'],
    ['one separator: the password field is missing', msg('tim\0tanstaaf'), 'missing second NUL separator'],
    ['third NUL: the password would be ambiguous (RFC 4616 SAFE excludes NUL)', msg('\0tim\0pass\0word'), 'NUL in password'],
    ['empty authcid: must not fall back to the authzid', msg('bob\0\0bobpass'), 'empty authcid'],
    ['empty password: RFC 4616 passwd = 1*SAFE; also blocks "anonymous bind" style tricks', msg('\0tim\0'), 'empty password'],
    ['empty initial response "=": not a message', Buffer.alloc(0), 'missing NUL separators'],
    ['authcid over the identity limit', msg('\0' + 'a'.repeat(PLAIN_MAX_IDENTITY + 1) + '\0x'), 'identity too long'],
    ['authzid over the identity limit', msg('a'.repeat(PLAIN_MAX_IDENTITY + 1) + '\0tim\0x'), 'identity too long'],
    ['password over its limit: bounds hashing work', msg('\0tim\0' + 'p'.repeat(PLAIN_MAX_PASSWORD + 1)), 'password too long'],
    ['whole message over the limit', msg('\0tim\0' + 'p'.repeat(3000)), 'message too long'],
    ['invalid UTF-8 in authcid (RFC 4616 requires UTF-8)', Buffer.from([0, 0xc3, 0x28, 0, 0x70]), 'not UTF-8'],
    ['invalid UTF-8 in password', Buffer.concat([msg('\0tim\0'), Buffer.from([0xff, 0xfe])]), 'not UTF-8'],
    ['overlong UTF-8 encoding of "/" (a classic filter bypass)', Buffer.concat([msg('\0tim'), Buffer.from([0xc0, 0xaf]), msg('\0x')]), 'not UTF-8'],
  ];
  for (const [why, input, reason] of rows) {
    const ctx = makeCtx();
    const s = last(await runSteps(plain, ctx, [input]));
    assert.equal(s.type, 'failure', why);
    if (s.type === 'failure') assert.deepEqual(s.failure, { status: 'malformed', reason }, why);
    assert.equal(ctx.port.calls.length, 0, `${why}: the port must not be asked`);
  }
});

void test('A1 PLAIN: step order — a step after completion fails, the port is asked once', async () => {
  const ctx = makeCtx();
  const ex = plain.start(ctx);
  assert.equal((await ex.step(msg('\0tim\0tanstaaftanstaaf'))).type, 'success');
  assertFailure(await ex.step(msg('\0tim\0tanstaaftanstaaf')), 'malformed', 'step after completion');
  assertFailure(await ex.step(null), 'malformed', 'step after completion');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A1 PLAIN: fuzz — hostile bytes at every step give clean steps', async () => {
  assert.equal(parsePlainMessage(Buffer.from([0, 0x61, 0, 0x62])).ok, true);
  const alphabet = [fc.constant('\0'), fc.constant('tim'), fc.constant('tanstaaftanstaaf'), fc.constant('bob'), fc.constant('\u00e9'), fc.string({ maxLength: 4 })];
  await fuzzMechanism(plain, hostileInput(alphabet));
});
