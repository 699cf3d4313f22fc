// A2: the SCRAM client refuses what a hostile or broken server sends (the backend relay trusts its
// verdict): malformed server messages, nonces that do not extend ours, weak or absurd iteration
// counts, e= errors, a wrong v=, success without v=.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScramClient, SCRAM_CLIENT_MAX_ITERATIONS, SCRAM_CLIENT_MIN_ITERATIONS } from './scram.js';
import { SaslClientError } from './index.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const NONCE = 'fyko+d2lbbFgONRv9qkxdawL';
const SF = `r=${NONCE}3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096`;
const GOOD_V = 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=';

function client(opts: ConstructorParameters<typeof ScramClient>[2] = {}, creds = { authcid: 'user', password: 'pencil' }): ScramClient {
  const c = new ScramClient('SHA-1', creds, { clientNonce: NONCE, ...opts });
  c.start();
  return c;
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof SaslClientError && re.test(e.message));
}

void test('A2 SCRAM client: gs2 header forms (n, y with binding data, p= for -PLUS) and authzid escaping', () => {
  const cb = { type: 'tls-exporter' as const, data: Buffer.alloc(32, 3) };
  const first = (c: ScramClient): string => c.start().initial?.toString('utf8') ?? '';
  assert.equal(first(new ScramClient('SHA-256', { authcid: 'u,=v', password: 'p' }, { clientNonce: 'abc' })), 'n,,n=u=2C=3Dv,r=abc');
  assert.equal(first(new ScramClient('SHA-256', { authcid: 'u', password: 'p', authzid: 'a,b' }, { clientNonce: 'abc', channelBinding: cb })), 'y,a=a=2Cb,n=u,r=abc');
  const plus = new ScramClient('SHA-256', { authcid: 'u', password: 'p' }, { clientNonce: 'abc', channelBinding: cb, plus: true });
  assert.equal(plus.name, 'SCRAM-SHA-256-PLUS');
  assert.equal(first(plus), 'p=tls-exporter,,n=u,r=abc');
  assert.throws(() => new ScramClient('SHA-256', { authcid: 'u', password: 'p' }, { plus: true }), SaslClientError);
  assert.throws(() => new ScramClient('SHA-256', { authcid: 'u', password: 'p\u0007' }), SaslClientError);
  assert.throws(() => new ScramClient('SHA-256', { authcid: '\u00AD', password: 'p' }), SaslClientError);
});

void test('A2 SCRAM client: -PLUS sends the binding data in c=', async () => {
  const data = Buffer.from('binding!');
  const c = new ScramClient('SHA-256', { authcid: 'u', password: 'pencil' }, { clientNonce: 'abc', channelBinding: { type: 'tls-unique', data }, plus: true });
  c.start();
  const final = (await c.next(b('r=abcdef,s=c2FsdA==,i=4096'))).toString();
  const cAttr = /^c=([^,]*)/.exec(final)?.[1] ?? '';
  assert.deepEqual(Buffer.from(cAttr, 'base64'), Buffer.concat([b('p=tls-unique,,'), data]));
});

// Malformed or hostile server-first-messages, each with why the client must cancel.
const BAD_SERVER_FIRST: Array<[string, string, RegExp]> = [
  ['empty', '', /server-first-message/],
  ['mandatory extension', `m=x,${SF}`, /extensions-not-supported/],
  ['nonce missing', 's=QSXCR+Q6sek8bf92,i=4096', /server-first-message/],
  ['nonce that does not extend ours (replayed from another exchange)', 'r=otherNonce123,s=QSXCR+Q6sek8bf92,i=4096', /does not extend/],
  ['nonce equal to ours (server added nothing)', `r=${NONCE},s=QSXCR+Q6sek8bf92,i=4096`, /does not extend/],
  ['salt missing', `r=${NONCE}x,i=4096`, /server-first-message/],
  ['salt not base64', `r=${NONCE}x,s=***,i=4096`, /server-first-message/],
  ['empty salt', `r=${NONCE}x,s=,i=4096`, /server-first-message/],
  ['iteration count missing', `r=${NONCE}x,s=QSXCR+Q6sek8bf92`, /server-first-message/],
  ['iteration count zero', `r=${NONCE}x,s=QSXCR+Q6sek8bf92,i=0`, /server-first-message/],
  ['iteration count with a sign', `r=${NONCE}x,s=QSXCR+Q6sek8bf92,i=+4096`, /server-first-message/],
  ['iteration count too large to be real', `r=${NONCE}x,s=QSXCR+Q6sek8bf92,i=99999999999`, /server-first-message/],
  ['iteration count below RFC 7677 minimum (cheap brute force of our proof)', `r=${NONCE}x,s=QSXCR+Q6sek8bf92,i=${SCRAM_CLIENT_MIN_ITERATIONS - 1}`, /below/],
  ['iteration count above our CPU bound', `r=${NONCE}x,s=QSXCR+Q6sek8bf92,i=${SCRAM_CLIENT_MAX_ITERATIONS + 1}`, /above/],
  ['bad extension', `${SF},junk`, /server-first-message/],
  ['a lone NUL byte', '\u0000', /server-first-message/],
];

void test('A2 SCRAM client: malformed server-first-message table', async () => {
  for (const [why, msg, re] of BAD_SERVER_FIRST) {
    await rejects(Promise.resolve().then(() => client().next(b(msg))), re).catch((e: unknown) => assert.fail(`${why}: ${String(e)}`));
  }
  await rejects(Promise.resolve().then(() => client().next(Buffer.from([0xff, 0xfe]))), /not UTF-8/);
});

void test('A2 SCRAM client: server-final checks (wrong v=, e=, garbage, success without v=)', async () => {
  // The RFC 5802 exchange, then various finals.
  const finalWith = async (serverFinal: Buffer | null, via: 'next' | 'finish'): Promise<boolean> => {
    const c = client();
    await c.next(b(SF));
    if (via === 'finish') return c.finish(serverFinal);
    try {
      await c.next(serverFinal ?? Buffer.alloc(0));
    } catch (e) {
      assert.ok(e instanceof SaslClientError);
      return false;
    }
    return c.finish(null);
  };
  assert.equal(await finalWith(b(GOOD_V), 'next'), true);
  assert.equal(await finalWith(b(GOOD_V), 'finish'), true);
  for (const bad of ['v=rmF9pqV8S7suAoZWja4dJRkFsKQ', 'v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=', 'v=', 'e=invalid-proof', 'e=', 'x=1', '', 'v=rmF9pqV8S7suAoZWja4dJRkFsKQ=,junk']) {
    assert.equal(await finalWith(b(bad), 'next'), false, bad);
    assert.equal(await finalWith(b(bad), 'finish'), false, bad);
  }
  // Success reported with no v= anywhere: the server did not prove itself.
  assert.equal(await finalWith(null, 'finish'), false);
  // The same v= repeated in the success reply after it came as a challenge is fine; another is not.
  const c = client();
  await c.next(b(SF));
  await c.next(b(GOOD_V));
  assert.equal(c.finish(b(GOOD_V)), true);
  const c2 = client();
  await c2.next(b(SF));
  await c2.next(b(GOOD_V));
  assert.equal(c2.finish(b('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), false);
});

void test('A2 SCRAM client: challenges out of order are refused', async () => {
  const fresh = new ScramClient('SHA-1', { authcid: 'user', password: 'pencil' });
  await rejects(Promise.resolve().then(() => fresh.next(b(SF))), /unexpected challenge/);
  const c = client();
  await c.next(b(SF));
  await c.next(b(GOOD_V));
  await rejects(Promise.resolve().then(() => c.next(b(SF))), /unexpected challenge/);
  assert.throws(() => c.start(), SaslClientError);
});

void test('A2 SCRAM client fuzz: any server-first/final only makes the client cancel cleanly', async () => {
  const pieces = ['r=', NONCE, 'x', ',', 's=', 'QSXCR+Q6sek8bf92', 'i=', '4096', '1', 'm=', 'v=', 'e=', '=', '\0', 'é'];
  const msg = fc.oneof(fc.array(fc.constantFrom(...pieces), { maxLength: 12 }).map((p) => b(p.join(''))), fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)));
  // A valid server-first half the time, so the server-final check is exercised too.
  const firstMsg = fc.oneof({ arbitrary: fc.constant(b(SF)), weight: 1 }, { arbitrary: msg, weight: 1 });
  let reachedFinal = 0;
  await fc.assert(
    fc.asyncProperty(firstMsg, msg, async (first, final) => {
      const c = client();
      try {
        await c.next(first);
      } catch (e) {
        assert.ok(e instanceof SaslClientError, String(e));
        return;
      }
      reachedFinal++;
      try {
        await c.next(final);
        assert.fail('a random server-final verified');
      } catch (e) {
        assert.ok(e instanceof SaslClientError, String(e));
      }
      assert.equal(c.finish(null), false);
    }),
    { numRuns: 300 },
  );
  assert.ok(reachedFinal > 75, `only ${reachedFinal} runs reached server-final`);
});
