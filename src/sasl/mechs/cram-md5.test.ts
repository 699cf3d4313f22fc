import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CRAM_MD5_MAX_RESPONSE, cramMd5, createCramMd5, cramMd5Digest } from './cram-md5.js';
import { assertFailure, fuzzMechanism, hexText, hostileInput, last, makeCtx, runSteps } from '../test/mech-helpers.js';
import type { Credential } from '../mechanism.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
// RFC 2195 §2 example.
const RFC_CHALLENGE = '<1896.697170952@postoffice.reston.mci.net>';
const RFC_RESPONSE = 'tim b913a602c7eda7a495b4e6e7334d3890';
const fixed = createCramMd5(() => RFC_CHALLENGE);

void test('A2 CRAM-MD5: RFC 2195 example (tim / tanstaaftanstaaf) is accepted', async () => {
  assert.equal(cramMd5Digest(b('tanstaaftanstaaf'), RFC_CHALLENGE).toString('hex'), 'b913a602c7eda7a495b4e6e7334d3890');
  const ctx = makeCtx();
  const steps = await runSteps(fixed, ctx, [null, b(RFC_RESPONSE)]);
  assert.equal(steps[0]?.type === 'challenge' && steps[0].data.toString(), RFC_CHALLENGE);
  const s = last(steps);
  assert.equal(s.type, 'success');
  if (s.type === 'success') assert.equal(s.authcid, 'tim');
  assert.deepEqual(ctx.port.calls.map((c) => [c.login, c.method, c.clearText]), [['tim', 'CRAM-MD5', false]]);
  // Upper-case hex is the same digest.
  assert.equal(last(await runSteps(fixed, makeCtx(), [null, b(RFC_RESPONSE.toUpperCase().replace('TIM', 'tim'))])).type, 'success');
});

void test('A2 CRAM-MD5: the challenge is <random.time@serverName>, new every time', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50; i++) {
    const s = last(await runSteps(cramMd5, makeCtx(), [null]));
    assert.equal(s.type, 'challenge');
    if (s.type !== 'challenge') return;
    const text = s.data.toString();
    assert.match(text, /^<[0-9a-f]{32}\.\d+@mail\.example\.com>$/);
    seen.add(text);
  }
  assert.equal(seen.size, 50);
});

void test('A2 CRAM-MD5: the port gets a clear-secret lookup and the external-program form', async () => {
  let captured: Credential | undefined;
  const ctx = makeCtx();
  const real = ctx.port.authenticate.bind(ctx.port);
  ctx.port.authenticate = async (req) => {
    captured = req.credential;
    return real(req);
  };
  await runSteps(fixed, ctx, [null, b(RFC_RESPONSE)]);
  assert.ok(captured && captured.type === 'challenge');
  if (captured?.type !== 'challenge') return;
  assert.equal(captured.needs, 'clear');
  assert.deepEqual(captured.external, { response: 'b913a602c7eda7a495b4e6e7334d3890', challenge: RFC_CHALLENGE });
  // A secret of the wrong kind is a plain "no", never a throw.
  assert.equal(await captured.verify({ kind: 'nt-hash', hash: Buffer.alloc(16) }), false);
  assert.equal(await captured.verify({ kind: 'clear', password: b('wrong') }), false);
  assert.equal(await captured.verify({ kind: 'clear', password: b('tanstaaftanstaaf') }), true);
});

void test('A2 CRAM-MD5: wrong digest → bad-credentials; A9 one-way stored password fails cleanly', async () => {
  assertFailure(last(await runSteps(fixed, makeCtx(), [null, b('tim 00000000000000000000000000000000')])), 'bad-credentials');
  const ctx = makeCtx();
  const digest = cramMd5Digest(b('whatever'), RFC_CHALLENGE).toString('hex');
  assertFailure(last(await runSteps(fixed, ctx, [null, b(`oneway ${digest}`)])), 'bad-credentials');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A2 CRAM-MD5: malformed-input table (each row says why)', async () => {
  const rows: [string, (Buffer | null)[], string][] = [
    ['initial response: CRAM-MD5 is server-first, data before the challenge answers nothing', [b(RFC_RESPONSE)], 'initial response not allowed'],
    ['no space: no digest field', [null, b('timb913a602c7eda7a495b4e6e7334d3890')], 'missing space before digest'],
    ['empty user name', [null, b(' b913a602c7eda7a495b4e6e7334d3890')], 'empty user name'],
    ['digest too short', [null, b('tim b913a602c7eda7a495b4e6e7334d389')], 'digest is not 32 hex digits'],
    ['digest not hex', [null, b('tim g913a602c7eda7a495b4e6e7334d3890')], 'digest is not 32 hex digits'],
    ['trailing space: digest empty', [null, b('tim b913a602c7eda7a495b4e6e7334d3890 ')], 'digest is not 32 hex digits'],
    ['NUL in the user name', [null, b('ti\0m b913a602c7eda7a495b4e6e7334d3890')], 'control character in user name'],
    ['CRLF in the user name: log and backend injection', [null, b('tim\r\nx b913a602c7eda7a495b4e6e7334d3890')], 'control character in user name'],
    ['not UTF-8', [null, Buffer.concat([Buffer.from([0xff]), b(' b913a602c7eda7a495b4e6e7334d3890')])], 'response not UTF-8'],
    ['over the limit', [null, b('u'.repeat(CRAM_MD5_MAX_RESPONSE) + ' b913a602c7eda7a495b4e6e7334d3890')], 'response too long'],
    ['empty response', [null, Buffer.alloc(0)], 'missing space before digest'],
  ];
  for (const [why, inputs, reason] of rows) {
    const ctx = makeCtx();
    const s = last(await runSteps(fixed, ctx, inputs));
    assert.equal(s.type, 'failure', why);
    if (s.type === 'failure') assert.deepEqual(s.failure, { status: 'malformed', reason }, why);
    assert.equal(ctx.port.calls.length, 0, why);
  }
});

void test('A2 CRAM-MD5: step order — steps after completion fail, one port call', async () => {
  const ctx = makeCtx();
  const ex = fixed.start(ctx);
  await ex.step(null);
  assert.equal((await ex.step(b(RFC_RESPONSE))).type, 'success');
  assertFailure(await ex.step(b(RFC_RESPONSE)), 'malformed', 'step after completion');
  assert.equal(ctx.port.calls.length, 1);
});

void test('A2 CRAM-MD5: fuzz — hostile bytes at every step give clean steps', async () => {
  await fuzzMechanism(cramMd5, hostileInput([fc.constant('tim'), fc.constant(' '), fc.constant('b913a602c7eda7a495b4e6e7334d3890'), hexText(34)]));
});
