import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { capitalise, isHttpRequestLine, SerialEvents } from './pre-login.js';
import type { Effect } from './session.js';

const w = (text: string): Effect => ({ type: 'write', data: text });

test('A5 T1 SerialEvents: a later event waits for the one before it, even when that one is slower', async () => {
  const events = new SerialEvents(() => false);
  const order: string[] = [];
  const fail = (): Effect[] => { throw new Error('no exception expected'); };
  const first = events.run(async () => { await sleep(30); order.push('login done'); return [w('1')]; }, fail);
  const second = events.run(async () => { order.push('pipelined command'); return [w('2')]; }, fail);
  assert.deepEqual(await Promise.all([first, second]), [[w('1')], [w('2')]]);
  assert.deepEqual(order, ['login done', 'pipelined command']);
});

test('A5 SerialEvents: once ended, events are answered with nothing and never run', async () => {
  let ended = false;
  const events = new SerialEvents(() => ended);
  let ran = 0;
  const fail = (): Effect[] => { throw new Error('no exception expected'); };
  await events.run(async () => { ran++; ended = true; return [w('relay')]; }, fail);
  assert.deepEqual(await events.run(async () => { ran++; return [w('late')]; }, fail), []);
  assert.equal(ran, 1);
});

test('A5 SerialEvents: an exception becomes the onException answer, and later events still run', async () => {
  const events = new SerialEvents(() => false);
  const seen: unknown[] = [];
  const crashed = events.run(async () => { throw new Error('boom'); }, (e) => { seen.push(e); return [w('BYE')]; });
  const next = events.run(async () => [w('next')], () => [w('unexpected')]);
  assert.deepEqual(await crashed, [w('BYE')]);
  assert.deepEqual(await next, [w('next')]);
  assert.equal((seen[0] as Error).message, 'boom');
});

test('A5 isHttpRequestLine: request lines of HTTP, and only those (each row says why)', () => {
  const rows: [string, boolean, string][] = [
    ['GET / HTTP/1.1', true, 'a browser pointed at the mail port'],
    ['POST /submit HTTP/1.0', true, 'cross-protocol POST (ALPACA) carrying commands in its body'],
    ['CONNECT mail.example:443 HTTP/1.1', true, 'a proxy request'],
    ['get / HTTP/1.1', false, 'methods are case-sensitive (RFC 9110 §9.1): browsers send upper case'],
    ['a1 LOGIN GET HTTP/1.1', false, 'an IMAP command that merely contains the words'],
    ['GET /', false, 'no version: HTTP/0.9, which no browser sends any more'],
    ['USER GET', false, 'a POP3 command'],
    ['', false, 'an empty line'],
  ];
  for (const [text, expected, why] of rows) assert.equal(isHttpRequestLine(Buffer.from(text, 'latin1')), expected, why);
  // Only the start of the line is looked at: a huge line costs no more than a short one.
  assert.equal(isHttpRequestLine(Buffer.concat([Buffer.from('GET / HTTP/1.1'), Buffer.alloc(1 << 20, 0x41)])), true);
});

test('A5 capitalise: first letter only; empty stays empty', () => {
  assert.equal(capitalise('unknown command'), 'Unknown command');
  assert.equal(capitalise(''), '');
  assert.equal(capitalise('x'), 'X');
});
