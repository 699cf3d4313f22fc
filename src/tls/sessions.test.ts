// T2: the session-ID store and ticket-key generations, with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TlsSessions, MAX_SESSION_TTL_SECONDS } from './sessions.js';

function store(s: TlsSessions, id: string, data: string): void {
  s.host.emit('newSession', Buffer.from(id), Buffer.from(data), () => undefined);
}
function load(s: TlsSessions, id: string): string | null {
  let out: string | null = 'not called';
  s.host.emit('resumeSession', Buffer.from(id), (_e: Error | null, d: Buffer | null) => { out = d ? d.toString() : null; });
  return out;
}

test('T2: stored sessions resume until the TTL, then are gone; the store is bounded', () => {
  let now = 1_000_000;
  const s = new TlsSessions({ ttlSeconds: 10, maxEntries: 3, now: () => now });
  store(s, 'a', 'A');
  assert.equal(load(s, 'a'), 'A');
  now += 9_999;
  assert.equal(load(s, 'a'), 'A');
  now += 1;
  assert.equal(load(s, 'a'), null, 'expired exactly at the TTL');
  for (const id of ['1', '2', '3', '4']) store(s, id, id);
  assert.equal(s.size, 3);
  assert.equal(load(s, '1'), null, 'the oldest is dropped first');
  assert.equal(load(s, '4'), '4');
  s.setTtl(2);
  now += 2_000;
  assert.equal(load(s, '4'), null, 'shortening the TTL shortens stored sessions too');
});

test('T2: ticket-key generations: previous kept for one TTL after a rotation, then dropped', () => {
  let now = 0;
  const s = new TlsSessions({ ttlSeconds: 5, now: () => now });
  const changes: string[] = [];
  s.onChange((c) => changes.push(c));
  const g1 = s.current;
  assert.equal(g1.keys.length, 48);
  assert.deepEqual(g1.name, g1.keys.subarray(0, 16));
  s.rotateTicketKeys();
  assert.equal(s.current.generation, 2);
  assert.notDeepEqual(s.current.keys, g1.keys);
  assert.equal(s.previous?.generation, 1);
  now += 4_999;
  assert.equal(s.previous?.generation, 1);
  now += 1;
  assert.equal(s.previous, undefined);
  assert.deepEqual(changes, ['ticket-keys']);
  for (const bad of [0, -1, 1.5, MAX_SESSION_TTL_SECONDS + 1]) assert.throws(() => s.setTtl(bad), RangeError);
  assert.throws(() => new TlsSessions({ sessionIdContext: 'x'.repeat(33) }), RangeError);
});

test('T2: adopted ticket keys (multi-core mode): the exporter\'s keys become current, held keys keep their generation, new ones get fresh numbers, malformed ones are refused', () => {
  let t = 1_000_000;
  const primary = new TlsSessions({ ttlSeconds: 60, now: () => t });
  const worker = new TlsSessions({ ttlSeconds: 60, now: () => t });
  const changes: string[] = [];
  worker.onChange((c) => changes.push(c));
  assert.ok(!worker.current.keys.equals(primary.current.keys), 'each starts with its own keys');
  const ownGeneration = worker.current.generation;
  worker.adoptTicketKeys(primary.exportTicketKeys());
  assert.ok(worker.current.keys.equals(primary.current.keys));
  assert.ok(worker.current.generation > ownGeneration, 'new keys never reuse a generation (the resolver caches contexts by it)');
  assert.deepEqual(changes, ['ticket-keys']);
  worker.adoptTicketKeys(primary.exportTicketKeys());
  assert.deepEqual(changes, ['ticket-keys'], 'the same keys again change nothing');
  // The primary rotates: its previous is the worker's current, which keeps its generation.
  const held = worker.current.generation;
  t += 1000;
  primary.rotateTicketKeys();
  worker.adoptTicketKeys(primary.exportTicketKeys());
  assert.ok(worker.current.keys.equals(primary.current.keys));
  assert.equal(worker.previous?.generation, held);
  assert.ok(worker.previous?.keys.equals(primary.previous?.keys ?? Buffer.alloc(0)));
  // Past one TTL the previous keys are dropped on both sides.
  t += 61_000;
  assert.equal(primary.exportTicketKeys().previous, undefined);
  assert.equal(worker.previous, undefined);
  for (const bad of [{ current: { keys: Buffer.alloc(47), createdAt: t } }, { current: { keys: Buffer.alloc(48), createdAt: Number.NaN } }]) {
    assert.throws(() => worker.adoptTicketKeys(bad), RangeError);
  }
});
