// E1–E4: the External Authentication client against scripted helper programs (test-fixtures/).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { configureLogging, logger, Secret, type LogRecord } from '../../../core/log.js';
import { ExternalAuthenticator, EXTAUTH_STOP_GRACE_MS, type ExternalAuthOptions, type ExternalOutcome } from './index.js';

const HELPER = fileURLToPath(new URL('./test-fixtures/scripted-helper.js', import.meta.url));

// Every record of every test is kept, so the last test can check no secret ever reached a log.
const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { EXTAUTH: 'all' } });

const clients: ExternalAuthenticator[] = [];
after(async () => { await Promise.all(clients.map((c) => c.stop())); });

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function running(mode: string, arg?: string, opts: Partial<ExternalAuthOptions> = {}): Promise<ExternalAuthenticator> {
  const c = new ExternalAuthenticator({ program: process.execPath, args: arg === undefined ? [HELPER, mode] : [HELPER, mode, arg], restartInitialMs: 50, ...opts });
  clients.push(c);
  c.start();
  await waitFor('the program to answer INTF', () => c.status().state === 'running');
  return c;
}

/** The exact request line the helper received, from its `OK <base64>` echo. */
function echoed(o: ExternalOutcome): string {
  assert.equal(o.status, 'ok', JSON.stringify(o));
  return Buffer.from(o.status === 'ok' ? o.detail : '', 'base64').toString('latin1');
}

void test('E2: INTF 2 is sent first; VRFY carries (mode) at version 2; sequence numbers are 6-digit and unique', async () => {
  const c = await running('echo', '2');
  assert.equal(c.status().version, 2);
  const a = echoed(await c.verify({ name: 'alice', domain: 'example.com', password: 'pa ss w', mode: 'IMAP' }));
  const b = echoed(await c.verify({ name: 'bob', domain: 'example.com', password: new Secret('x') }));
  assert.match(a, /^\d{6} VRFY \(IMAP\) alice@example\.com pa ss w$/);
  assert.match(b, /^\d{6} VRFY bob@example\.com x$/);
  assert.notEqual(a.slice(0, 6), b.slice(0, 6));
  const intf = records.find((r) => r.event === 'extauth.request' && r.command === 'INTF');
  assert.ok(intf && typeof intf.seq === 'string' && /^\d{6}$/.test(intf.seq));
  await c.stop();
});

void test('E2: SASL(method) and NEW lines; a password is passed byte for byte', async () => {
  const c = await running('echo');
  const s = echoed(await c.sasl({ method: 'CRAM-MD5', name: 'u4', domain: 'd2.com', password: 'hdkj547812329394055', key: '<pop-23456@mydomain.com>', mode: 'POP' }));
  assert.match(s, /^\d{6} SASL\(CRAM-MD5\) \(POP\) u4@d2\.com hdkj547812329394055 <pop-23456@mydomain\.com>$/);
  const n = echoed(await c.newName({ name: 'user1', domain: 'domain1.com' }));
  assert.match(n, /^\d{6} NEW user1@domain1\.com$/);
  const raw = echoed(await c.verify({ name: 'l', domain: 'd', password: Buffer.from([0xe9, 0x20, 0xff]) }));
  assert.ok(raw.endsWith(' l@d \xe9 \xff'), JSON.stringify(raw));
  await c.stop();
});

void test('E2: version negotiation — INTF answered 0, error or no number means no (mode); 1 sends it; 5 is capped at 2', async () => {
  for (const [answer, version, withMode] of [['0', 0, false], ['error', 0, false], ['none', 0, false], ['1', 1, true], ['5', 2, true]] as const) {
    const c = await running('echo', answer);
    assert.equal(c.status().version, version, `INTF answered ${answer}`);
    const v = echoed(await c.verify({ name: 'a', domain: 'b', password: 'p', mode: 'SMTP' }));
    const s = echoed(await c.sasl({ method: 'APOP', name: 'a', domain: 'b', password: 'r', key: 'k', mode: 'POP' }));
    assert.equal(v.includes('(SMTP)'), withMode, `${answer}: ${v}`);
    assert.equal(s.includes('(POP)'), withMode, `${answer}: ${s}`);
    await c.stop();
  }
});

void test('E2: an ERROR reply is an error outcome carrying the message', async () => {
  const c = await running('echo');
  assert.deepEqual(await c.verify({ name: 'u', domain: 'd', password: 'wrong', mode: 'IMAP' }), { status: 'error', message: 'incorrect password', origin: 'program' });
  await c.stop();
});

void test('E2: replies in reverse order are matched to their requests', async () => {
  const c = await running('reverse', '3');
  const names = ['one', 'two', 'three'];
  const outs = await Promise.all(names.map((n) => c.verify({ name: n, domain: 'x.org', password: `pw-${n}` })));
  outs.forEach((o, i) => assert.ok(echoed(o).endsWith(` ${names[i]}@x.org pw-${names[i]}`)));
  await c.stop();
});

void test('E2: 1,000 concurrent requests answered in shuffled order are all matched correctly', async () => {
  const c = await running('shuffle', '1000');
  const t0 = Date.now();
  const outs = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.verify({ name: `u${i}`, domain: 'bulk.test', password: `secret-${i}`, mode: 'IMAP' })));
  const ms = Date.now() - t0;
  outs.forEach((o, i) => assert.ok(echoed(o).endsWith(` (IMAP) u${i}@bulk.test secret-${i}`), `request ${i}`));
  assert.equal(c.status().inFlight, 0);
  assert.ok(ms < 9000, `took ${ms} ms`);
  await c.stop();
});

void test('E2: garbage lines and replies to unknown numbers are logged and ignored; the real reply still matches', async () => {
  const c = await running('garbage');
  const before = records.length;
  const o = await c.verify({ name: 'g', domain: 'd', password: 'pw-garbage' });
  assert.ok(echoed(o).endsWith(' g@d pw-garbage'));
  const seen = records.slice(before);
  const garbage = seen.filter((r) => r.event === 'extauth.garbage');
  assert.ok(garbage.length >= 6, `garbage records: ${garbage.length}`);
  assert.ok(garbage.some((r) => r.why === 'reply line too long'));
  assert.ok(seen.some((r) => r.event === 'extauth.unknown-seq' && r.seq === '999999999'));
  await c.stop();
});

void test('E4: a request that gets no answer in time is unavailable; its late reply is then an unknown number', async () => {
  const c = await running('echo', '2', { requestTimeoutMs: 200 });
  const t0 = Date.now();
  assert.deepEqual(await c.verify({ name: 'h', domain: 'd', password: 'hang' }), { status: 'unavailable', reason: 'timeout' });
  const ms = Date.now() - t0;
  assert.ok(ms >= 190 && ms < 3000, `timed out after ${ms} ms`);
  assert.equal(c.status().inFlight, 0);
  const before = records.length;
  assert.deepEqual(await c.verify({ name: 'h', domain: 'd', password: 'late' }), { status: 'unavailable', reason: 'timeout' });
  await waitFor('the late reply', () => records.slice(before).some((r) => r.event === 'extauth.unknown-seq'));
  // The program still works for the next request.
  assert.ok(echoed(await c.verify({ name: 'h', domain: 'd', password: 'p' })).endsWith(' h@d p'));
  await c.stop();
});

void test('E4: a program that never answers: every request times out, none hangs', async () => {
  const c = await running('silent', undefined, { requestTimeoutMs: 150 });
  const outs = await Promise.all([1, 2, 3].map((i) => c.verify({ name: `s${i}`, domain: 'd', password: 'p' })));
  for (const o of outs) assert.deepEqual(o, { status: 'unavailable', reason: 'timeout' });
  await c.stop();
});

void test('E4: a program that never answers INTF: waiting requests time out, and it is killed and restarted', async () => {
  const c = new ExternalAuthenticator({ program: process.execPath, args: [HELPER, 'no-intf'], requestTimeoutMs: 150, startTimeoutMs: 300, restartInitialMs: 20 });
  clients.push(c);
  c.start();
  assert.deepEqual(await c.verify({ name: 'n', domain: 'd', password: 'p' }), { status: 'unavailable', reason: 'timeout' });
  await waitFor('a restart', () => c.status().starts >= 2);
  assert.ok(records.some((r) => r.event === 'extauth.intf-timeout'));
  await c.stop();
});

void test('E4: a crash in the middle of requests fails them at once, the program restarts, the next request works', async () => {
  const c = await running('echo', '2', { restartInitialMs: 100, requestTimeoutMs: 5000 });
  const pid = c.status().pid;
  const hanging = [1, 2].map((i) => c.verify({ name: `w${i}`, domain: 'd', password: 'hang' }));
  await new Promise((r) => setTimeout(r, 50));
  const t0 = Date.now();
  const crashed = await c.verify({ name: 'c', domain: 'd', password: 'crash' });
  const inFlight = await Promise.all(hanging);
  const ms = Date.now() - t0;
  assert.deepEqual(crashed, { status: 'unavailable', reason: 'program-exited' });
  for (const o of inFlight) assert.deepEqual(o, { status: 'unavailable', reason: 'program-exited' });
  assert.ok(ms < 2500, `in-flight requests failed after ${ms} ms (their own time-out is 5000)`);
  assert.equal(c.status().state, 'restarting');
  assert.deepEqual(await c.verify({ name: 'r', domain: 'd', password: 'p' }), { status: 'unavailable', reason: 'restarting' });
  await waitFor('the restart', () => c.status().state === 'running');
  assert.notEqual(c.status().pid, pid);
  assert.equal(c.status().starts, 2);
  assert.ok(echoed(await c.verify({ name: 'after', domain: 'd', password: 'p' })).endsWith(' after@d p'));
  await c.stop();
});

void test('E4: restarts back off exponentially up to the bound', async () => {
  // Records of this client only: a client of a failed test may still be restarting meanwhile.
  const mine = (): LogRecord[] => records.filter((r) => r.event === 'extauth.exited' && r.test === 'backoff');
  const c = new ExternalAuthenticator({ program: process.execPath, args: ['-e', 'process.exit(1)'], restartInitialMs: 20, restartMaxMs: 80, logger: logger('EXTAUTH').child({ test: 'backoff' }) });
  clients.push(c);
  c.start();
  await waitFor('five deaths', () => mine().length >= 5, 10_000);
  await c.stop();
  const delays = mine().map((r) => r.restartInMs);
  assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 80, 80]);
  assert.equal(c.status().state, 'stopped');
});

void test('E4: a program that cannot be started gives unavailable, never a throw', async () => {
  const c = new ExternalAuthenticator({ program: '/nonexistent/mailward-extauth', restartInitialMs: 1000 });
  clients.push(c);
  c.start();
  await waitFor('the failed start', () => c.status().state === 'restarting');
  const o = await c.verify({ name: 'a', domain: 'b', password: 'p' });
  assert.deepEqual(o, { status: 'unavailable', reason: 'restarting' });
  assert.ok(records.some((r) => r.event === 'extauth.process-error'));
  await c.stop();
  assert.deepEqual(await c.verify({ name: 'a', domain: 'b', password: 'p' }), { status: 'unavailable', reason: 'stopped' });
});

void test('E4: stop() closes stdin; a program that quits on EOF is gone at once; later requests are refused', async () => {
  const c = await running('echo');
  const t0 = Date.now();
  await c.stop();
  assert.ok(Date.now() - t0 < 3000, 'well before the 5 s kill');
  assert.equal(c.status().state, 'stopped');
  assert.equal(records.some((r) => r.event === 'extauth.kill' && r.pid === c.status().pid), false);
  assert.deepEqual(await c.verify({ name: 'a', domain: 'b', password: 'p' }), { status: 'unavailable', reason: 'stopped' });
  assert.deepEqual(await new ExternalAuthenticator({ program: HELPER }).newName({ name: 'a', domain: 'b' }), { status: 'unavailable', reason: 'stopped' });
});

void test('E4: a program that ignores the closing of stdin is killed after the grace period', async () => {
  const c = await running('ignore-eof', undefined, { stopGraceMs: 300 });
  const pid = c.status().pid as number;
  const t0 = Date.now();
  await c.stop();
  const ms = Date.now() - t0;
  assert.ok(ms >= 290 && ms < 3000, `stopped after ${ms} ms`);
  assert.ok(records.some((r) => r.event === 'extauth.kill' && r.pid === pid));
  assert.throws(() => process.kill(pid, 0), /ESRCH/);
});

void test('E4: the default grace period is the reference\'s 5 seconds', async () => {
  assert.equal(EXTAUTH_STOP_GRACE_MS, 5000);
  const c = await running('ignore-eof');
  const t0 = Date.now();
  await c.stop();
  const ms = Date.now() - t0;
  assert.ok(ms >= 4950 && ms < 7000, `stopped after ${ms} ms`);
});

void test('E2: requests above the in-flight bound are refused at once', async () => {
  const c = await running('silent', undefined, { maxInFlight: 5, requestTimeoutMs: 300 });
  const waiting = Array.from({ length: 5 }, (_, i) => c.verify({ name: `q${i}`, domain: 'd', password: 'p' }));
  assert.deepEqual(await c.verify({ name: 'q6', domain: 'd', password: 'p' }), { status: 'unavailable', reason: 'overloaded' });
  for (const o of await Promise.all(waiting)) assert.deepEqual(o, { status: 'unavailable', reason: 'timeout' });
  await c.stop();
});

void test('E2: a password or name that could inject a second command never reaches the program', async () => {
  const c = await running('echo');
  const rows: [string, () => Promise<ExternalOutcome>, RegExp][] = [
    ['CRLF in a VRFY password would end the line and start a forged command', () => c.verify({ name: 'a', domain: 'b', password: 'x\r\n000099 VRFY root@b pw' }), /CR or LF/],
    ['a bare LF is a line end for the program too', () => c.verify({ name: 'a', domain: 'b', password: 'x\nNEW y@b' }), /CR or LF/],
    ['a bare CR: some programs split on it', () => c.verify({ name: 'a', domain: 'b', password: 'x\ry' }), /CR or LF/],
    ['NUL would truncate the password in a C program', () => c.verify({ name: 'a', domain: 'b', password: 'secret\0junk' }), /NUL/],
    ['an empty password must never let anyone in (P4)', () => c.verify({ name: 'a', domain: 'b', password: '' }), /empty password/],
    ['a space in the name would shift the password field', () => c.verify({ name: 'a b', domain: 'c', password: 'p' }), /whitespace/],
    ['@ in the name makes name@domain ambiguous', () => c.verify({ name: 'a@evil', domain: 'c', password: 'p' }), /@/],
    ['a newline in the domain of NEW', () => c.newName({ name: 'a', domain: 'c\n000099 VRFY x@y p' }), /whitespace/],
    ['an empty domain', () => c.newName({ name: 'a', domain: '' }), /empty domain/],
    ['a space in a SASL response would shift the key field', () => c.sasl({ method: 'CRAM-MD5', name: 'a', domain: 'b', password: 'r r', key: 'k' }), /whitespace/],
    ['a space in a SASL key', () => c.sasl({ method: 'CRAM-MD5', name: 'a', domain: 'b', password: 'r', key: '<a b>' }), /whitespace/],
    ['a method with a parenthesis would break SASL(method)', () => c.sasl({ method: 'X) (Y', name: 'a', domain: 'b', password: 'r', key: 'k' }), /method/],
    ['a mode with a parenthesis would break (mode)', () => c.verify({ name: 'a', domain: 'b', password: 'p', mode: 'IMAP) x@y (' }), /mode/],
    ['a name longer than any DNS name', () => c.verify({ name: 'a', domain: 'd'.repeat(300), password: 'p' }), /too long/],
  ];
  const sentBefore = records.filter((r) => r.event === 'extauth.request').length;
  for (const [why, run, message] of rows) {
    const o = await run();
    assert.equal(o.status, 'error', why);
    assert.equal(o.status === 'error' && o.origin, 'mailward', why);
    assert.match(o.status === 'error' ? o.message : '', message, why);
  }
  assert.equal(records.filter((r) => r.event === 'extauth.request').length, sentBefore, 'nothing was sent');
  await c.stop();
});

void test('W4: no password or SASL response appeared in any EXTAUTH record of this file', () => {
  assert.ok(records.length > 100);
  const text = JSON.stringify(records);
  for (const s of ['pa ss w', 'pw-garbage', 'secret-999', 'hdkj547812329394055', 'pw-three', 'secret\\u0000junk']) {
    assert.ok(!text.includes(s), `${s} leaked`);
  }
});
