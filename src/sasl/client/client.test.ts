import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { plainClient } from './plain.js';
import { loginClient } from './login.js';
import { cramMd5Client, CRAM_MD5_CLIENT_MAX_CHALLENGE } from './cram-md5.js';
import { SaslClientError, type SaslClientMechanism } from './index.js';
import { SaslSession, type SaslReply } from '../driver.js';
import { makeCtx } from '../test/mech-helpers.js';

/** Our client against our server through the wire driver (base64 both ways). */
async function roundTrip(client: SaslClientMechanism, useIr: boolean): Promise<SaslReply> {
  const s = new SaslSession(makeCtx(), { offered: ['PLAIN', 'LOGIN', 'CRAM-MD5'], successData: 'as-challenge' });
  const { initial } = client.start();
  let r: SaslReply;
  if (initial !== null && useIr) {
    r = await s.start(client.name, initial.length === 0 ? '=' : initial.toString('base64'));
  } else {
    r = await s.start(client.name);
    if (initial !== null && r.reply === 'challenge') {
      assert.equal(r.base64, '', 'the server invites the initial response with an empty challenge');
      r = await s.respond(initial.toString('base64'));
    }
  }
  for (let i = 0; i < 5 && r.reply === 'challenge'; i++) {
    r = await s.respond((await client.next(Buffer.from(r.base64, 'base64'))).toString('base64'));
  }
  return r;
}

void test('A1 client PLAIN: RFC 4616 message, with and without SASL-IR, and against our server', async () => {
  assert.deepEqual(plainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }).start().initial, Buffer.from('\0tim\0tanstaaftanstaaf'));
  assert.deepEqual(plainClient({ authzid: 'Ursel', authcid: 'Kurt', password: 'xipj3plmq' }).start().initial, Buffer.from('Ursel\0Kurt\0xipj3plmq'));
  assert.equal((await roundTrip(plainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }), true)).reply, 'success');
  assert.equal((await roundTrip(plainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }), false)).reply, 'success');
  const bad = await roundTrip(plainClient({ authcid: 'tim', password: 'wrong' }), true);
  assert.equal(bad.reply === 'failure' && bad.failure.status, 'bad-credentials');
  assert.throws(() => plainClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }).next(Buffer.from('x')), SaslClientError);
});

void test('A1 client LOGIN: answers by position, against our server; a third challenge is refused', async () => {
  const c = loginClient({ authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(c.start().initial, null);
  assert.equal((await c.next(Buffer.from('User Name'))).toString(), 'tim');
  assert.equal((await c.next(Buffer.from('Password:'))).toString(), 'tanstaaftanstaaf');
  assert.throws(() => c.next(Buffer.from('?')), SaslClientError);
  assert.equal((await roundTrip(loginClient({ authcid: 'tim', password: 'tanstaaftanstaaf' }), true)).reply, 'success');
  const bad = await roundTrip(loginClient({ authcid: 'tim', password: 'nope' }), true);
  assert.equal(bad.reply === 'failure' && bad.failure.status, 'bad-credentials');
});

void test('A2 client CRAM-MD5: RFC 2195 example, against our server; refuses odd challenges', async () => {
  const c = cramMd5Client({ authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.equal(c.start().initial, null);
  assert.equal((await c.next(Buffer.from('<1896.697170952@postoffice.reston.mci.net>'))).toString(), 'tim b913a602c7eda7a495b4e6e7334d3890');
  assert.throws(() => c.next(Buffer.from('<again@host>')), SaslClientError, 'one challenge only');
  assert.throws(() => cramMd5Client({ authcid: 'tim', password: 'x' }).next(Buffer.alloc(0)), SaslClientError);
  assert.throws(() => cramMd5Client({ authcid: 'tim', password: 'x' }).next(Buffer.alloc(CRAM_MD5_CLIENT_MAX_CHALLENGE + 1, 0x41)), SaslClientError);
  assert.equal((await roundTrip(cramMd5Client({ authcid: 'tim', password: 'tanstaaftanstaaf' }), true)).reply, 'success');
  const bad = await roundTrip(cramMd5Client({ authcid: 'tim', password: 'nope' }), true);
  assert.equal(bad.reply === 'failure' && bad.failure.status, 'bad-credentials');
});

void test('A1 A2 client: credentials that cannot be sent are refused up front', () => {
  assert.throws(() => plainClient({ authcid: '', password: 'x' }), SaslClientError);
  assert.throws(() => plainClient({ authcid: 'a\0b', password: 'x' }), SaslClientError);
  assert.throws(() => loginClient({ authcid: 'a', password: 'x', authzid: 'b' }), SaslClientError, 'LOGIN has no authzid: refusing beats silently dropping it');
  assert.throws(() => cramMd5Client({ authcid: 'a', password: '' }), SaslClientError);
});

void test('A1 A2 client: fuzz — any challenge gives a response or a SaslClientError, nothing else', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 4 }), async (challenges) => {
    for (const make of [plainClient, loginClient, cramMd5Client]) {
      const c = make({ authcid: 'tim', password: 'tanstaaftanstaaf' });
      c.start();
      for (const ch of challenges) {
        try {
          assert.ok(Buffer.isBuffer(await c.next(Buffer.from(ch))));
        } catch (e) {
          assert.ok(e instanceof SaslClientError, String(e));
        }
      }
    }
  }), { numRuns: 200 });
});
