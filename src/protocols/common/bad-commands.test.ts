import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_COMMAND_LIMIT, BadCommandCounter } from './bad-commands.js';

test('bad-command counter: disconnect at the named limit, reset, invalid limits refused', () => {
  const c = new BadCommandCounter();
  assert.equal(c.limit, BAD_COMMAND_LIMIT);
  for (let i = 1; i < BAD_COMMAND_LIMIT; i++) assert.equal(c.record(), 'continue', `bad command ${i}`);
  assert.equal(c.record(), 'disconnect');
  assert.equal(c.count, BAD_COMMAND_LIMIT);
  assert.equal(c.record(), 'disconnect', 'stays over the limit');
  c.reset();
  assert.equal(c.count, 0);
  const one = new BadCommandCounter(1);
  assert.equal(one.record(), 'disconnect');
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new BadCommandCounter(bad), RangeError);
});
