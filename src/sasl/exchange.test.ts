// A2 A3: the shared step orders. Server-first (CRAM-MD5, DIGEST-MD5): no initial response, one
// challenge, one response. Client-first (SCRAM, NTLM): empty challenge without an initial
// response, two client messages. Both: one attempt, nothing after the end but a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientFirstExchange, malformed, serverFirstExchange } from './exchange.js';
import type { SaslStep } from './mechanism.js';

const b = (s: string): Buffer => Buffer.from(s, 'utf8');
const ok = (authcid: string): SaslStep => ({ type: 'success', outcome: { status: 'ok', account: authcid, domain: 'example.com', source: 'own' }, authcid });

function serverFirst(): { ex: ReturnType<typeof serverFirstExchange>; seen: string[] } {
  const seen: string[] = [];
  let n = 0;
  const ex = serverFirstExchange<number>({
    initialResponseRefused: 'no initial response here',
    challenge: () => ({ data: b(`challenge ${++n}`), context: n }),
    respond: (response, context) => {
      seen.push(`${response.toString()} to ${context}`);
      return Promise.resolve(response.toString() === 'right' ? ok('u') : malformed('wrong'));
    },
  });
  return { ex, seen };
}

void test('A2 server-first step order: challenge, one response checked against that challenge, then only failures', async () => {
  const { ex, seen } = serverFirst();
  assert.deepEqual(await ex.step(null), { type: 'challenge', data: b('challenge 1') });
  assert.equal((await ex.step(b('right'))).type, 'success');
  assert.deepEqual(await ex.step(b('right')), malformed('step after completion'));
  assert.deepEqual(await ex.step(null), malformed('step after completion'));
  assert.deepEqual(seen, ['right to 1']);
});

void test('A2 server-first step order: an initial response or a missing response ends the exchange unchecked', async () => {
  const a = serverFirst();
  assert.deepEqual(await a.ex.step(b('right')), malformed('no initial response here'));
  assert.deepEqual(await a.ex.step(null), malformed('step after completion'));
  const c = serverFirst();
  await c.ex.step(null);
  assert.deepEqual(await c.ex.step(null), malformed('missing response'));
  assert.deepEqual(await c.ex.step(b('right')), malformed('step after completion'));
  assert.deepEqual([...a.seen, ...c.seen], []);
});

function clientFirst(): { ex: ReturnType<typeof clientFirstExchange>; seen: string[] } {
  const seen: string[] = [];
  const ex = clientFirstExchange<string>({
    first: (message) => Promise.resolve(message.toString() === 'hello'
      ? { data: b('go on'), context: 'ctx-of-hello' }
      : malformed('bad first')),
    second: (message, context) => {
      seen.push(`${message.toString()} with ${context}`);
      return Promise.resolve(message.toString() === 'right' ? ok('u') : malformed('wrong'));
    },
    secondMissing: () => malformed('second missing'),
    finished: () => malformed('finished'),
  });
  return { ex, seen };
}

void test('A2 A3 client-first step order: empty challenge without an initial response, two messages, then only failures', async () => {
  const { ex, seen } = clientFirst();
  assert.deepEqual(await ex.step(null), { type: 'challenge', data: Buffer.alloc(0) });
  assert.deepEqual(await ex.step(b('hello')), { type: 'challenge', data: b('go on') });
  assert.deepEqual(await ex.step(b('wrong')), malformed('wrong'));
  assert.deepEqual(await ex.step(b('right')), malformed('finished'), 'no second attempt inside one exchange');
  assert.deepEqual(seen, ['wrong with ctx-of-hello']);
});

void test('A2 A3 client-first step order: a failed first message or a missing second one ends the exchange', async () => {
  const a = clientFirst();
  assert.deepEqual(await a.ex.step(b('nonsense')), malformed('bad first'));
  assert.deepEqual(await a.ex.step(b('hello')), malformed('finished'));
  const c = clientFirst();
  await c.ex.step(b('hello'));
  assert.deepEqual(await c.ex.step(null), malformed('second missing'));
  assert.deepEqual(await c.ex.step(b('right')), malformed('finished'));
  const d = clientFirst();
  await d.ex.step(b('hello'));
  assert.equal((await d.ex.step(b('right'))).type, 'success');
  assert.deepEqual(await d.ex.step(null), malformed('finished'));
  assert.deepEqual([...a.seen, ...c.seen, ...d.seen], ['right with ctx-of-hello']);
});
