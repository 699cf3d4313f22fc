// H2 across the processes of the multi-core mode: workers' IpcLockout asks the primary's counters
// over an IPC channel (here an in-memory pair with the same JSON round trip and asynchrony as
// node:cluster's), with request ids and a timeout; a silent primary is a temporary failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MailwardError } from '../core/errors.js';
import { configureLogging } from '../core/log.js';
import { openFileStore } from '../settings/backends/files/index.js';
import { dict } from '../settings/format/types.js';
import { Directory } from '../directory/directory.js';
import { AuthEngine, type AuthRequest } from './engine.js';
import { InProcessLockout } from './lockout.js';
import { PasswordService } from './password-service.js';
import {
  IpcLockout, LOCKOUT_IPC_MAX_PENDING, LOCKOUT_KEY_MAX, LockoutHub, parseLockoutEvent, parseLockoutReply, parseLockoutRequest, type IpcChannel,
} from './lockout-ipc.js';

configureLogging({ defaultLevel: 'failure' });

/** Two connected ends; messages cross as JSON on a later turn of the event loop, as over IPC. */
function pair(): { primary: IpcChannel; worker: IpcChannel; close(): void; drop: { toPrimary: boolean }; sent: { toPrimary: number } } {
  const subs: { p: ((m: unknown) => void)[]; w: ((m: unknown) => void)[] } = { p: [], w: [] };
  let open = true;
  const drop = { toPrimary: false };
  const sent = { toPrimary: 0 };
  const deliver = (to: ((m: unknown) => void)[], m: unknown): boolean => {
    if (!open) return false;
    const copy: unknown = JSON.parse(JSON.stringify(m));
    setImmediate(() => { for (const f of [...to]) f(copy); });
    return true;
  };
  const end = (mine: ((m: unknown) => void)[], theirs: ((m: unknown) => void)[], isWorker: boolean): IpcChannel => ({
    send: (m) => {
      if (isWorker) sent.toPrimary++;
      return isWorker && drop.toPrimary ? open : deliver(theirs, m);
    },
    onMessage: (fn) => { mine.push(fn); return () => { mine.splice(mine.indexOf(fn), 1); }; },
  });
  return { primary: end(subs.p, subs.w, false), worker: end(subs.w, subs.p, true), close: () => { open = false; }, drop, sent };
}

/** Lets every message in flight arrive (each crossing takes one setImmediate turn). */
const settle = async (): Promise<void> => { for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r)); };

const P = 60_000;

test('H2: failures reported through two workers count together on the primary; the lock and an unlock reach both', async () => {
  const hub = new LockoutHub();
  const a = pair();
  const b = pair();
  hub.serve(a.primary);
  hub.serve(b.primary);
  const wa = new IpcLockout(a.worker);
  const wb = new IpcLockout(b.worker);
  await settle();
  const key = 'alice@example.com';
  assert.deepEqual(await wa.recordFailure(key, 1000, 4, P), { failures: 1, lockedUntil: null });
  assert.deepEqual(await wb.recordFailure(key, 1001, 4, P), { failures: 2, lockedUntil: null });
  assert.deepEqual(await wa.recordFailure(key, 1002, 4, P), { failures: 3, lockedUntil: null });
  assert.equal((await wa.state(key, 1002, P)).lockedUntil, null);
  const locked = await wb.recordFailure(key, 1003, 4, P);
  assert.equal(locked.lockedUntil, 1003 + P, 'the fourth failure, on the other worker, reaches the limit');
  assert.equal((await wb.state(key, 2000, P)).lockedUntil, 1003 + P, 'the worker that locked knows at once');
  await settle();
  assert.equal((await wa.state(key, 2000, P)).lockedUntil, 1003 + P, 'the other worker within one hop');
  assert.equal((await hub.state(key, 2000, P)).lockedUntil, 1003 + P, "the admin's view (the primary's counters) sees it");
  assert.equal((await wa.state(key, 1003 + P, P)).lockedUntil, null, 'the lock ends by itself');
  await hub.unlock(key);
  await settle();
  assert.deepEqual(await wa.state(key, 2000, P), { failures: 0, lockedUntil: null });
  assert.deepEqual(await wb.state(key, 2000, P), { failures: 0, lockedUntil: null });
  await wb.recordFailure(key, 3000, 4, P);
  await wa.unlock(key);
  assert.deepEqual(await hub.state(key, 3000, P), { failures: 0, lockedUntil: null }, 'an unlock asked by a worker reaches the primary');
  // Many requests at once: each answer finds its own request (ids).
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? wa : wb).recordFailure(`u${i}@x.test`, 4000, 10, P)));
  assert.ok(many.every((s) => s.failures === 1));
  assert.equal(wa.waiting() + wb.waiting(), 0);
});

test('H2: the check every login makes is answered from the copy (no round trip); a new worker receives the locks that exist', async () => {
  const hub = new LockoutHub();
  const a = pair();
  hub.serve(a.primary);
  const wa = new IpcLockout(a.worker);
  await settle();
  // Real times: a new worker asks for the locks that exist now.
  const t0 = Date.now();
  // The primary's own engine (PWD, web logins) locks an account.
  for (let i = 0; i < 3; i++) await hub.recordFailure('bob@example.com', t0, 3, P);
  await settle();
  const before = a.sent.toPrimary;
  for (let i = 0; i < 100; i++) assert.equal((await wa.state(i % 2 ? 'bob@example.com' : 'carol@example.com', t0 + 1, P)).lockedUntil, i % 2 ? t0 + P : null);
  assert.equal(a.sent.toPrimary, before, 'no request for a state');
  assert.equal(wa.counts.local, 100);
  // A worker started later (a replacement) gets the whole copy first.
  const c = pair();
  hub.serve(c.primary);
  const wc = new IpcLockout(c.worker);
  assert.equal((await wc.state('bob@example.com', t0 + 1, P)).lockedUntil, t0 + P, 'before its copy arrives it asks the primary');
  await settle();
  assert.equal((await wc.state('bob@example.com', t0 + 1, P)).lockedUntil, t0 + P);
  assert.equal(wc.counts.local, 1);
});

test('H2: once a request waits longer than the stale limit, the copy is not trusted: the check asks the primary (and fails after the timeout)', async () => {
  const hub = new LockoutHub();
  const ch = pair();
  hub.serve(ch.primary);
  const clock = { t: 0 };
  const w = new IpcLockout(ch.worker, { timeoutMs: 80, staleMs: 50, clock: () => clock.t });
  await settle();
  assert.equal((await w.state('a@b.test', 0, P)).lockedUntil, null);
  assert.equal(w.counts.local, 1);
  // The primary gets stuck: a failure waits for its answer.
  ch.drop.toPrimary = true;
  const failure = w.recordFailure('a@b.test', 0, 3, P).then(() => 'answered', (e: Error) => e.message);
  clock.t = 49;
  assert.equal((await w.state('a@b.test', 0, P)).lockedUntil, null, 'a young request still trusts the copy');
  clock.t = 51;
  await assert.rejects(w.state('a@b.test', 0, P), /no answer from the primary/, 'a stuck primary: the check itself fails');
  assert.match(await failure, /no answer from the primary/);
  assert.equal(w.counts.asked, 1);
  // After a timeout the copy stays untrusted until the primary answers again.
  await assert.rejects(w.state('a@b.test', 0, P), /no answer/);
  ch.drop.toPrimary = false;
  assert.equal((await w.state('a@b.test', 0, P)).lockedUntil, null);
  assert.equal(w.counts.asked, 3);
  await w.state('a@b.test', 0, P);
  assert.equal(w.counts.local, 3, 'trusted again once the primary answered');
});

test('H2: a primary that does not answer gives a rejection after the timeout, never a hang; a late answer is ignored', async () => {
  const ch = pair();
  ch.drop.toPrimary = true;
  const w = new IpcLockout(ch.worker, { timeoutMs: 60 });
  const t0 = Date.now();
  await assert.rejects(w.state('a@b.test', 0, P), (e: unknown) => e instanceof MailwardError && /no answer from the primary/.test(e.message));
  const took = Date.now() - t0;
  assert.ok(took >= 55 && took < 1000, `rejected after ${took} ms`);
  assert.equal(w.waiting(), 0, 'the request is forgotten');
  // An answer for that id arriving now finds nothing and changes nothing.
  ch.primary.send({ t: 'mw.lockout.reply', id: 0, state: { failures: 0, lockedUntil: null } });
  await new Promise((r) => setImmediate(r));
  assert.equal(w.waiting(), 0);
});

test('H2: a closed channel fails at once; close() fails what is waiting; the pending table is bounded', async () => {
  const ch = pair();
  ch.close();
  const w = new IpcLockout(ch.worker, { timeoutMs: 10_000 });
  const t0 = Date.now();
  await assert.rejects(w.recordFailure('a@b.test', 0, 3, P), /channel to the primary is closed/);
  assert.ok(Date.now() - t0 < 1000);

  const silent = pair();
  silent.drop.toPrimary = true;
  const s = new IpcLockout(silent.worker, { timeoutMs: 10_000 });
  const waiting = Array.from({ length: LOCKOUT_IPC_MAX_PENDING }, () => s.state('a@b.test', 0, P).then(() => 'answered', () => 'failed'));
  assert.equal(s.waiting(), LOCKOUT_IPC_MAX_PENDING);
  await assert.rejects(s.state('a@b.test', 0, P), /too many requests/);
  s.close();
  assert.ok((await Promise.all(waiting)).every((x) => x === 'failed'));
  assert.equal(s.waiting(), 0);
});

test('H2: counters that fail on the primary answer an error, which the worker sees as a rejection', async () => {
  const ch = pair();
  const broken = new InProcessLockout();
  broken.recordFailure = () => Promise.reject(new Error('disk on fire'));
  new LockoutHub(broken).serve(ch.primary);
  const w = new IpcLockout(ch.worker);
  await assert.rejects(w.recordFailure('a@b.test', 0, 3, P), /lock-out counters failed/);
  assert.deepEqual(await w.state('a@b.test', 0, P), { failures: 0, lockedUntil: null }, 'asked again after the error, and answered');
});

test('H2: the engine turns a silent primary into a temporary failure (not a login that skips the check)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-lockipc-'));
  const store = await openFileStore(dir);
  try {
    await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com', LoginFailureLimit: '3' }), null);
    await store.createDomain('example.com');
    await store.createAccount('example.com', 'alice', dict());
    const directory = new Directory(store);
    const passwords = new PasswordService(directory);
    await passwords.setPassword('example.com', 'alice', 'right-password');
    const ch = pair();
    ch.drop.toPrimary = true;
    const engine = new AuthEngine({ directory, passwords, lockout: new IpcLockout(ch.worker, { timeoutMs: 80 }) });
    const t0 = Date.now();
    const req: AuthRequest = {
      mode: 'IMAP', method: 'PLAIN', client: '127.0.0.1', secure: true, clearText: false,
      login: 'alice@example.com', credential: { type: 'password', password: Buffer.from('right-password') },
    };
    const r = await engine.authenticate(req);
    assert.equal(r.status, 'temporary-failure');
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// ---- the message parsers -------------------------------------------------------------------------

const ok = { t: 'mw.lockout', id: 7, key: 'a@b.test', now: 1, periodMs: 600_000 };
const MALFORMED_REQUESTS: [string, unknown, 'ignored' | string][] = [
  ['not an object: the cluster may carry other messages', 'ready', 'ignored'],
  ['null', null, 'ignored'],
  ['an array', [ok], 'ignored'],
  ["the cluster's own message", { type: 'ready' }, 'ignored'],
  ['another tag', { ...ok, t: 'mw.lockout.reply', op: 'state' }, 'ignored'],
  ['no id: cannot be answered', { ...ok, id: undefined, op: 'state' }, 'id'],
  ['negative id', { ...ok, id: -1, op: 'state' }, 'id'],
  ['fractional id', { ...ok, id: 1.5, op: 'state' }, 'id'],
  ['id as text', { ...ok, id: '7', op: 'state' }, 'id'],
  ['empty key', { ...ok, key: '', op: 'state' }, 'key'],
  ['key too long: not one the engine makes', { ...ok, key: 'x'.repeat(LOCKOUT_KEY_MAX + 1), op: 'state' }, 'key'],
  ['key not text', { ...ok, key: 5, op: 'state' }, 'key'],
  ['unknown op', { ...ok, op: 'drop-all' }, 'op'],
  ['no op', { ...ok }, 'op'],
  ['sync without a time', { t: 'mw.lockout', id: 1, op: 'sync' }, 'times'],
  ['NaN time', { ...ok, now: Number.NaN, op: 'state' }, 'times'],
  ['infinite period', { ...ok, periodMs: Infinity, op: 'state' }, 'times'],
  ['time as text', { ...ok, now: '1', op: 'fail', limit: 3 }, 'times'],
  ['negative limit', { ...ok, op: 'fail', limit: -1 }, 'limit'],
  ['fractional limit', { ...ok, op: 'fail', limit: 2.5 }, 'limit'],
  ['no limit on a failure', { ...ok, op: 'fail' }, 'limit'],
];

test('H2: lock-out requests - malformed-input table (each row says why)', () => {
  for (const [why, m, want] of MALFORMED_REQUESTS) {
    const r = parseLockoutRequest(m);
    if (want === 'ignored') assert.equal(r, null, why);
    else assert.ok(r && 'bad' in r && r.bad === want, `${why}: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(parseLockoutRequest({ ...ok, op: 'unlock', extra: 1 }), { t: 'mw.lockout', id: 7, op: 'unlock', key: 'a@b.test' });
  assert.deepEqual(parseLockoutRequest({ ...ok, op: 'fail', limit: 3 }), { ...ok, op: 'fail', limit: 3 });
});

const MALFORMED_REPLIES: [string, unknown][] = [
  ['not an object', 42],
  ['another tag', { t: 'mw.lockout', id: 1, state: { failures: 0, lockedUntil: null } }],
  ['no id', { t: 'mw.lockout.reply', state: { failures: 0, lockedUntil: null } }],
  ['no state and no error', { t: 'mw.lockout.reply', id: 1 }],
  ['failures negative', { t: 'mw.lockout.reply', id: 1, state: { failures: -1, lockedUntil: null } }],
  ['lockedUntil as text', { t: 'mw.lockout.reply', id: 1, state: { failures: 0, lockedUntil: 'soon' } }],
  ['lockedUntil missing', { t: 'mw.lockout.reply', id: 1, state: { failures: 0 } }],
  ['a lock list with a bad entry: the whole copy is refused', { t: 'mw.lockout.reply', id: 1, locks: [['a@b', 5], ['', 5]] }],
  ['a lock list entry without its end', { t: 'mw.lockout.reply', id: 1, locks: [['a@b']] }],
];

const MALFORMED_EVENTS: [string, unknown][] = [
  ['not an object', 'mw.lockout.event'],
  ['no key', { t: 'mw.lockout.event', lockedUntil: 5 }],
  ['lockedUntil missing: neither a lock nor an unlock', { t: 'mw.lockout.event', key: 'a@b' }],
  ['lockedUntil not a time', { t: 'mw.lockout.event', key: 'a@b', lockedUntil: Number.POSITIVE_INFINITY }],
  ['key too long', { t: 'mw.lockout.event', key: 'k'.repeat(LOCKOUT_KEY_MAX + 1), lockedUntil: 5 }],
];

test('H2: lock-out replies - malformed-input table (each row says why)', () => {
  for (const [why, m] of MALFORMED_REPLIES) assert.equal(parseLockoutReply(m), null, why);
  for (const [why, m] of MALFORMED_EVENTS) assert.equal(parseLockoutEvent(m), null, why);
  assert.deepEqual(parseLockoutEvent({ t: 'mw.lockout.event', key: 'a@b', lockedUntil: null }), { t: 'mw.lockout.event', key: 'a@b', lockedUntil: null });
  assert.deepEqual(parseLockoutReply({ t: 'mw.lockout.reply', id: 3, locks: [['a@b', 5]] }), { t: 'mw.lockout.reply', id: 3, locks: [['a@b', 5]] });
  assert.deepEqual(parseLockoutReply({ t: 'mw.lockout.reply', id: 1, state: { failures: 2, lockedUntil: 5 } }), { t: 'mw.lockout.reply', id: 1, state: { failures: 2, lockedUntil: 5 } });
  assert.equal((parseLockoutReply({ t: 'mw.lockout.reply', id: 1, error: 'x'.repeat(10_000) }) as { error: string }).error.length, 200, 'an error text is bounded');
});

test('H2: lock-out messages - fuzz: hostile input gives null, a "bad" verdict or a well-formed value, never a throw', () => {
  const anyMsg = fc.oneof(
    fc.anything(),
    fc.record({ t: fc.constantFrom('mw.lockout', 'mw.lockout.reply', 'mw.lockout.event'), id: fc.anything(), op: fc.oneof(fc.constantFrom('state', 'fail', 'unlock', 'sync'), fc.anything()),
      key: fc.oneof(fc.string(), fc.anything()), now: fc.oneof(fc.double(), fc.anything()), periodMs: fc.double(), limit: fc.oneof(fc.integer(), fc.double()),
      state: fc.anything(), error: fc.anything(), lockedUntil: fc.oneof(fc.constant(null), fc.double(), fc.anything()),
      locks: fc.oneof(fc.array(fc.tuple(fc.string(), fc.double())), fc.anything()) }, { requiredKeys: ['t'] }),
  );
  fc.assert(fc.property(anyMsg, (m) => {
    const r = parseLockoutRequest(m);
    if (r !== null && !('bad' in r)) {
      assert.ok(Number.isSafeInteger(r.id));
      if (r.op !== 'sync') assert.ok(r.key.length > 0 && r.key.length <= LOCKOUT_KEY_MAX);
      if (r.op === 'state' || r.op === 'fail') assert.ok(Number.isFinite(r.now) && Number.isFinite(r.periodMs));
    }
    const p = parseLockoutReply(m);
    if (p !== null && 'state' in p) assert.ok(Number.isSafeInteger(p.state.failures) && (p.state.lockedUntil === null || Number.isFinite(p.state.lockedUntil)));
    if (p !== null && 'locks' in p) assert.ok(p.locks.every(([k, u]) => k.length > 0 && Number.isFinite(u)));
    const e = parseLockoutEvent(m);
    if (e !== null) assert.ok(e.key.length > 0 && (e.lockedUntil === null || Number.isFinite(e.lockedUntil)));
  }), { numRuns: 2000, seed: 8 });
});
