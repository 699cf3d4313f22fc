// P3: slow schemes never block the event loop (worker threads), and the pool fails cleanly:
// time-outs, a full queue ("busy", a temporary failure, not a wrong password) and shutdown.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeCryptPool, CRYPT_QUEUE_MAX, verify } from './index.js';
import { CryptPool } from './pool.js';
import { shaCryptHash } from './algorithms/shacrypt.js';
import { toolOutput } from './testing/tools.js';

after(() => closeCryptPool());

const ONE_WAY = { encryption: 'one-way' } as const;

test('P3: five SHA-512-crypt verifications run while a timer keeps firing (the event loop is never blocked)', async () => {
  const rounds = 100_000;
  const stored = await toolOutput('mkpasswd', ['-m', 'sha512crypt', '-R', String(rounds), '-S', 'saltsaltsaltsalt', 'loop-test']);
  await verify('warm-up', '$6$x$' + 'a'.repeat(86), ONE_WAY); // start the threads outside the measurement

  let last = performance.now();
  let maxGap = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    ticks++;
  }, 5);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: 5 }, () => verify('loop-test', stored, ONE_WAY)));
  const elapsed = performance.now() - started;
  clearInterval(timer);
  assert.deepEqual(results.map((r) => r.ok), [true, true, true, true, true]);

  // The control: the same hash computed on the event loop stalls it for its whole duration.
  const t0 = performance.now();
  shaCryptHash(512, Buffer.from('loop-test'), Buffer.from('saltsaltsaltsalt'), rounds);
  const inline = performance.now() - t0;

  assert.ok(inline >= 150, `control too fast to tell (${inline.toFixed(0)} ms): raise the rounds`);
  assert.ok(maxGap < inline / 2, `the event loop stalled ${maxGap.toFixed(0)} ms; one inline hash takes ${inline.toFixed(0)} ms`);
  assert.ok(ticks >= elapsed / 50, `only ${ticks} timer ticks in ${elapsed.toFixed(0)} ms`);
});

test('P3: a job over its time-out fails cleanly, the thread is replaced and the next job succeeds', async () => {
  const pool = new CryptPool({ size: 1, timeoutMs: 1000 }); // the slow job needs ~3 s, the good one ~30 ms
  try {
    const slow = await pool.run({ algo: 'sha-crypt', bits: 512, password: Buffer.from('x'), salt: Buffer.from('s'), rounds: 1_000_000 });
    assert.deepEqual(slow, { status: 'error', reason: 'time-out' });
    const expected = await toolOutput('openssl', ['passwd', '-6', '-salt', 'saltsaltsaltsalt', 'password']);
    const ok = await pool.run({ algo: 'sha-crypt', bits: 512, password: Buffer.from('password'), salt: Buffer.from('saltsaltsaltsalt'), rounds: 5000 });
    assert.deepEqual(ok, { status: 'done', hash: expected.split('$')[3] });
  } finally {
    await pool.close();
  }
});

test('P3: a full queue answers busy at once; close() fails what is still pending', async () => {
  const pool = new CryptPool({ size: 1, queueMax: 1 });
  const job = { algo: 'sha-crypt', bits: 256, password: Buffer.from('x'), salt: Buffer.from('s'), rounds: 200_000 } as const;
  const running = pool.run(job);
  const queued = pool.run(job);
  assert.deepEqual(await pool.run(job), { status: 'busy' });
  await pool.close();
  assert.deepEqual(await running, { status: 'error', reason: 'pool closed' });
  assert.deepEqual(await queued, { status: 'error', reason: 'pool closed' });
  assert.deepEqual(await pool.run(job), { status: 'error', reason: 'pool closed' });
  assert.equal(pool.threads, 0);
});

test('P3: a flood of legacy verifications beyond the queue gets "busy" (temporary), the rest verify', async () => {
  const stored = await toolOutput('mkpasswd', ['-m', 'sha256crypt', '-R', '1000', '-S', 'floodsaltflood', 'flood']);
  const n = CRYPT_QUEUE_MAX + 40;
  const results = await Promise.all(Array.from({ length: n }, () => verify('flood', stored, ONE_WAY)));
  const busy = results.filter((r) => r.problem === 'busy').length;
  const ok = results.filter((r) => r.ok).length;
  assert.equal(busy + ok, n, 'every answer is a match or busy');
  assert.ok(busy > 0 && busy <= 40, `busy ${busy}`);
  assert.ok(results.every((r) => r.problem !== 'busy' || (!r.ok && !r.needsUpgrade)));
});
