import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apop, apopDigest, APOP_MAX_ARGUMENT } from './apop.js';
import { assertFailure, fuzzMechanism, hexText, hostileInput, last, makeCtx, runSteps } from '../test/mech-helpers.js';
import type { Credential } from '../mechanism.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
// RFC 1939 §7 example.
const TS = '<1896.697170952@dbc.mtview.ca.us>';
const ARG = 'mrose c4c9334bac560ecc979e58001b3e22fb';

void test('A4 APOP: RFC 1939 example (mrose / tanstaaf) is accepted', async () => {
  assert.equal(apopDigest(TS, b('tanstaaf')).toString('hex'), 'c4c9334bac560ecc979e58001b3e22fb');
  let captured: Credential | undefined;
  const ctx = makeCtx({ apopTimestamp: TS });
  const real = ctx.port.authenticate.bind(ctx.port);
  ctx.port.authenticate = async (req) => {
    captured = req.credential;
    return real(req);
  };
  const s = last(await runSteps(apop, ctx, [b(ARG)]));
  assert.equal(s.type, 'success');
  if (s.type === 'success') assert.equal(s.authcid, 'mrose');
  assert.deepEqual(ctx.port.calls.map((c) => [c.login, c.method, c.clearText]), [['mrose', 'APOP', false]]);
  assert.ok(captured?.type === 'challenge');
  if (captured?.type === 'challenge') {
    assert.equal(captured.needs, 'clear');
    assert.deepEqual(captured.external, { response: 'c4c9334bac560ecc979e58001b3e22fb', challenge: TS });
    assert.equal(await captured.verify({ kind: 'scram', algorithm: 'SHA-1', salt: Buffer.alloc(4), iterations: 1, storedKey: Buffer.alloc(20), serverKey: Buffer.alloc(20) }), false);
  }
});

void test('A4 A9 APOP: wrong digest → bad-credentials; one-way stored password fails cleanly', async () => {
  assertFailure(last(await runSteps(apop, makeCtx({ apopTimestamp: TS }), [b('mrose 00000000000000000000000000000000')])), 'bad-credentials');
  const ctx = makeCtx({ apopTimestamp: TS });
  assertFailure(last(await runSteps(apop, ctx, [b('oneway c4c9334bac560ecc979e58001b3e22fb')])), 'bad-credentials');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A4 APOP: malformed-input table (each row says why)', async () => {
  const rows: [string, string | undefined, (Buffer | null)[], string][] = [
    ['no timestamp in this session: the greeting did not offer APOP', undefined, [b(ARG)], 'no APOP timestamp on this session'],
    ['a timestamp that is not <msg-id>: a session bug must not verify anything', '1896.697170952', [b(ARG)], 'no APOP timestamp on this session'],
    ['no argument', TS, [null], 'missing argument'],
    ['name only', TS, [b('mrose')], 'expected "name digest"'],
    ['two spaces: RFC 1939 separates by one space', TS, [b('mrose  c4c9334bac560ecc979e58001b3e22fb')], 'expected "name digest"'],
    ['three fields', TS, [b('mrose x c4c9334bac560ecc979e58001b3e22fb')], 'expected "name digest"'],
    ['digest not hex', TS, [b('mrose z4c9334bac560ecc979e58001b3e22fb')], 'digest is not 32 hex digits'],
    ['digest too long', TS, [b('mrose c4c9334bac560ecc979e58001b3e22fb0')], 'digest is not 32 hex digits'],
    ['control character in the name', TS, [b('mr\x01ose c4c9334bac560ecc979e58001b3e22fb')], 'control character in user name'],
    ['not UTF-8', TS, [Buffer.from([0xff, 0x20, 0x41])], 'argument not UTF-8'],
    ['over the limit', TS, [b('m'.repeat(APOP_MAX_ARGUMENT) + ' c4c9334bac560ecc979e58001b3e22fb')], 'argument too long'],
  ];
  for (const [why, ts, inputs, reason] of rows) {
    const ctx = makeCtx(ts === undefined ? {} : { apopTimestamp: ts });
    const s = last(await runSteps(apop, ctx, inputs));
    assert.equal(s.type, 'failure', why);
    if (s.type === 'failure') assert.deepEqual(s.failure, { status: 'malformed', reason }, why);
    assert.equal(ctx.port.calls.length, 0, why);
  }
});

void test('A4 APOP: step order — a second step fails, one port call', async () => {
  const ctx = makeCtx({ apopTimestamp: TS });
  const ex = apop.start(ctx);
  assert.equal((await ex.step(b(ARG))).type, 'success');
  assertFailure(await ex.step(b(ARG)), 'malformed', 'step after completion');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A4 APOP: fuzz — hostile bytes give clean steps', async () => {
  await fuzzMechanism(apop, hostileInput([fc.constant('mrose'), fc.constant(' '), fc.constant('c4c9334bac560ecc979e58001b3e22fb'), hexText(33)]), { apopTimestamp: TS });
});
