import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  authenticateApop, decodeBase64Strict, decodeClientLine, decodeInitialResponse, SASL_MAX_LINE_LENGTH, SASL_MAX_ROUNDS, SaslSession,
  type SaslReply, type SaslSessionOptions,
} from './driver.js';
import { makeCtx } from './test/mech-helpers.js';
import type { SaslContext, SaslMechanism } from './mechanism.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const ALL = ['DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'LOGIN'];

function session(opts: Partial<SaslSessionOptions> = {}, ctx: SaslContext = makeCtx({ serverName: 'elwood.innosoft.com' })): SaslSession {
  return new SaslSession(ctx, { offered: ALL, successData: 'as-challenge', ...opts });
}

function failureOf(r: SaslReply): unknown {
  assert.equal(r.reply, 'failure', JSON.stringify(r));
  return r.reply === 'failure' ? r.failure : undefined;
}

void test('A1 driver: strict base64 table (each row says why)', () => {
  const rows: [string, string, string | null][] = [
    ['canonical with padding', 'dGlt', 'tim'],
    ['two pad characters', 'dGk=', 'ti'],
    ['empty line is an empty response', '', ''],
    ['missing padding: non-canonical, two spellings for one value', 'dGk', null],
    ['space inside: Node would skip it silently', 'dG lt', null],
    ['trailing CR: the protocol must strip the line ending, not us', 'dGlt\r', null],
    ['URL-safe alphabet is another encoding', 'a-_b', null],
    ['padding in the middle', 'dG==dGlt', null],
    ['three pad characters', 'dA===', null],
    ['non-zero pad bits: "dGm=" would also decode to "ti"', 'dGm=', null],
    ['non-ASCII letter', 'dGl\u00e9', null],
    ['a lone "=" is not base64 (only the initial response spells empty that way)', '=', null],
  ];
  for (const [why, text, expected] of rows) {
    const got = decodeBase64Strict(text);
    assert.equal(got === null ? null : got.toString('utf8'), expected, why);
  }
});

void test('A1 driver: client lines — "*" cancels, over-long lines and bad base64 are malformed, "=" only as initial response', () => {
  assert.deepEqual(decodeClientLine('*'), { ok: false, failure: { status: 'cancelled' } });
  assert.deepEqual(decodeClientLine('A'.repeat(SASL_MAX_LINE_LENGTH + 4)), { ok: false, failure: { status: 'malformed', reason: 'line too long' } });
  assert.deepEqual(decodeClientLine('%%%%'), { ok: false, failure: { status: 'malformed', reason: 'bad base64' } });
  assert.deepEqual(decodeClientLine('='), { ok: false, failure: { status: 'malformed', reason: 'bad base64' } });
  const ir = decodeInitialResponse('=');
  assert.ok(ir.ok && ir.data.length === 0);
  assert.deepEqual(decodeInitialResponse(''), { ok: false, failure: { status: 'malformed', reason: 'empty initial response must be "="' } });
  assert.deepEqual(decodeInitialResponse('*'), { ok: false, failure: { status: 'cancelled' } });
});

void test('A1 driver: PLAIN with SASL-IR, without it, and with the empty initial response "="', async () => {
  let s = session();
  const ok = await s.start('plain', b64('\0tim\0tanstaaftanstaaf'));
  assert.equal(ok.reply, 'success', JSON.stringify(ok));
  assert.ok(s.finished);
  s = session();
  assert.deepEqual(await s.start('PLAIN'), { reply: 'challenge', base64: '' });
  assert.equal((await s.respond(b64('\0tim\0tanstaaftanstaaf'))).reply, 'success');
  s = session();
  assert.deepEqual(failureOf(await s.start('PLAIN', '=')), { status: 'malformed', reason: 'missing NUL separators' });
});

void test('A1 driver: cancel with "*" mid-exchange, then nothing more is accepted', async () => {
  const ctx = makeCtx();
  const s = session({}, ctx);
  assert.equal((await s.start('LOGIN')).reply, 'challenge');
  assert.deepEqual(failureOf(await s.respond('*')), { status: 'cancelled' });
  assert.deepEqual(failureOf(await s.respond(b64('tim'))), { status: 'malformed', reason: 'no exchange in progress' });
  assert.deepEqual(failureOf(await s.start('LOGIN')), { status: 'malformed', reason: 'exchange already started' });
  assert.equal(ctx.port.calls.length, 0);
});

void test('A6 A8 driver: a mechanism not offered on this connection, unknown, or APOP is unsupported', async () => {
  assert.deepEqual(await session({ offered: ['CRAM-MD5'] }).start('PLAIN', b64('\0tim\0tanstaaftanstaaf')), { reply: 'unsupported', mechanism: 'PLAIN' });
  assert.deepEqual(await session().start('X-UNKNOWN'), { reply: 'unsupported', mechanism: 'X-UNKNOWN' });
  assert.deepEqual(await session({ offered: [...ALL, 'APOP'] }).start('APOP', b64('mrose c4c9334bac560ecc979e58001b3e22fb')), { reply: 'unsupported', mechanism: 'APOP' });
  const long = await session().start('X'.repeat(5000));
  assert.equal(long.reply === 'unsupported' && long.mechanism.length, 64, 'the echoed name is bounded');
});

void test('A2 driver: final server data — as a challenge acknowledged by an empty line, or with success', async () => {
  const { createHash } = await import('node:crypto');
  const md5 = (x: Buffer | string): Buffer => createHash('md5').update(x).digest();
  const answer = (challengeB64: string): string => {
    const nonce = /nonce="([^"]+)"/.exec(Buffer.from(challengeB64, 'base64').toString())?.[1] ?? '';
    const ha1 = md5(Buffer.concat([md5('chris:elwood.innosoft.com:secret'), Buffer.from(`:${nonce}:cn`)])).toString('hex');
    const resp = md5(`${ha1}:${nonce}:00000001:cn:auth:${md5('AUTHENTICATE:imap/elwood.innosoft.com').toString('hex')}`).toString('hex');
    return b64(`username="chris",realm="elwood.innosoft.com",nonce="${nonce}",cnonce="cn",nc=00000001,qop=auth,digest-uri="imap/elwood.innosoft.com",response=${resp},charset=utf-8`);
  };
  let s = session({ successData: 'as-challenge' });
  let r = await s.start('DIGEST-MD5');
  assert.equal(r.reply, 'challenge');
  r = await s.respond(answer(r.reply === 'challenge' ? r.base64 : ''));
  assert.equal(r.reply, 'challenge');
  assert.match(r.reply === 'challenge' ? Buffer.from(r.base64, 'base64').toString() : '', /^rspauth=[0-9a-f]{32}$/);
  const done = await s.respond('');
  assert.equal(done.reply, 'success');
  assert.equal(done.reply === 'success' && done.serverData, undefined);

  s = session({ successData: 'as-challenge' });
  r = await s.start('DIGEST-MD5');
  await s.respond(answer(r.reply === 'challenge' ? r.base64 : ''));
  assert.deepEqual(failureOf(await s.respond(b64('x'))), { status: 'malformed', reason: 'non-empty response to final data' });
  s = session({ successData: 'as-challenge' });
  r = await s.start('DIGEST-MD5');
  await s.respond(answer(r.reply === 'challenge' ? r.base64 : ''));
  assert.deepEqual(failureOf(await s.respond('*')), { status: 'cancelled' });

  s = session({ successData: 'with-success' });
  r = await s.start('DIGEST-MD5');
  r = await s.respond(answer(r.reply === 'challenge' ? r.base64 : ''));
  assert.equal(r.reply, 'success');
  assert.match(r.reply === 'success' ? Buffer.from(r.serverData ?? '', 'base64').toString() : '', /^rspauth=[0-9a-f]{32}$/);
});

void test('A1 driver: a throwing port becomes a temporary failure, never an exception', async () => {
  const ctx = makeCtx();
  ctx.port.authenticate = () => Promise.reject(new Error('store down'));
  assert.deepEqual(failureOf(await session({}, ctx).start('PLAIN', b64('\0tim\0x'))), { status: 'temporary-failure', reason: 'mechanism error' });
});

void test('A1 driver: the number of rounds is capped, whatever the mechanism does', async () => {
  // A mechanism that never ends (a bug) is stopped by the driver after SASL_MAX_ROUNDS turns.
  const endless: SaslMechanism = {
    name: 'X-ENDLESS', needs: 'verify-plain', clearText: false, advertiseGroup: 'secure',
    start: () => ({ step: async () => ({ type: 'challenge', data: Buffer.from('more') }) }),
  };
  const s = new SaslSession(makeCtx(), { offered: ['X-ENDLESS'], successData: 'as-challenge', lookup: (n) => (n.toUpperCase() === 'X-ENDLESS' ? endless : undefined) });
  let r = await s.start('x-endless');
  let turns = 1;
  while (r.reply === 'challenge') {
    r = await s.respond('');
    turns++;
  }
  assert.equal(turns, SASL_MAX_ROUNDS + 1);
  assert.deepEqual(failureOf(r), { status: 'malformed', reason: 'too many rounds' });
  // A mechanism that throws is a temporary failure too.
  const throwing: SaslMechanism = { ...endless, start: () => ({ step: () => { throw new Error('bug'); } }) };
  const t = new SaslSession(makeCtx(), { offered: ['X-ENDLESS'], successData: 'as-challenge', lookup: () => throwing });
  assert.deepEqual(failureOf(await t.start('X-ENDLESS')), { status: 'temporary-failure', reason: 'mechanism error' });
});

void test('A4 driver: APOP through authenticateApop only when offered', async () => {
  const ts = '<1896.697170952@dbc.mtview.ca.us>';
  const ctx = makeCtx({ apopTimestamp: ts });
  const ok = await authenticateApop(ctx, 'mrose c4c9334bac560ecc979e58001b3e22fb', true);
  assert.equal(ok.reply, 'success');
  assert.deepEqual(await authenticateApop(ctx, 'mrose c4c9334bac560ecc979e58001b3e22fb', false), { reply: 'unsupported', mechanism: 'APOP' });
  assert.deepEqual(failureOf(await authenticateApop(ctx, 'mrose', true)), { status: 'malformed', reason: 'expected "name digest"' });
});

void test('A1 driver: fuzz — any line in any order gives a reply, never a throw', async () => {
  await fc.assert(fc.asyncProperty(
    fc.constantFrom(...ALL, 'APOP', 'NOPE'),
    fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a).toString('base64'))), { nil: undefined }),
    fc.array(fc.oneof(fc.constant('*'), fc.constant(''), fc.constant('='), fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a).toString('base64'))), { maxLength: 6 }),
    async (mech, ir, lines) => {
      const ctx = makeCtx();
      const s = session({}, ctx);
      const replies: SaslReply[] = [await s.start(mech, ir)];
      for (const line of lines) replies.push(await s.respond(line));
      for (const r of replies) assert.ok(['challenge', 'success', 'failure', 'unsupported'].includes(r.reply));
      assert.ok(ctx.port.calls.length <= 1);
    },
  ), { numRuns: 400 });
});
