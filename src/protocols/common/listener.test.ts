import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { configureLogging, type LogRecord } from '../../core/log.js';
import type { ListenerConfig } from '../../settings/schema.js';
import { TlsContextResolver } from '../../tls/context.js';
import { makeTestCertificate } from '../../tls/test-certificate.js';
import { openssl, peerSubject, requireTool, run, tempDir } from '../../tls/test/tools.js';
import { ListenerSet, grantDecision, perIpKey, type ListenerLimits } from './listener.js';
import { AddressList } from '../../access/addresses.js';
import fc from 'fast-check';
import { LineClient, ToySession, type ToyOptions } from './test-support.js';

const MAIN = 'mail.test';
let resolver: TlsContextResolver;

before(async () => {
  resolver = new TlsContextResolver({ testCertificate: await makeTestCertificate(MAIN) });
  resolver.setDomains([], MAIN);
});
after(() => resolver.close());

function cfg(extra: Partial<ListenerConfig> = {}): ListenerConfig {
  return { Address: '127.0.0.1', Port: 0, TLS: 'starttls', Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin: 'tls-only', ...extra };
}

interface Started { set: ListenerSet; sessions: ToySession[]; port: (i?: number) => number; close: () => Promise<void> }

async function start(configs: ListenerConfig[], opts: { limits?: Partial<ListenerLimits>; toy?: ToyOptions; service?: 'IMAP' | 'SMTP' } = {}): Promise<Started> {
  const sessions: ToySession[] = [];
  const set = new ListenerSet({
    service: opts.service ?? 'IMAP', tls: resolver, ...(opts.limits ? { limits: opts.limits } : {}),
    sessionFactory: (info) => { const s = new ToySession(info, opts.toy); sessions.push(s); return s; },
  });
  assert.deepEqual(await set.update(configs), []);
  return { set, sessions, port: (i = 0) => set.bound()[i]!.port, close: () => set.close({ connections: 'destroy' }) };
}

/** A refused client: the connection is closed and not one byte arrives (N3). */
async function expectRefused(port: number, opts: { localAddress?: string; send?: Buffer | string } = {}): Promise<void> {
  const c = await LineClient.connect(port, opts);
  if (opts.send !== undefined) c.send(opts.send);
  await c.waitClosed(3000);
  assert.equal(c.received, 0, 'a refused client receives zero bytes');
}

function captureLogs(): { records: LogRecord[]; stop: () => void } {
  const records: LogRecord[] = [];
  configureLogging({ sink: (r) => records.push(r), levels: { IMAP: 'info', SMTP: 'info' } });
  return { records, stop: () => configureLogging({ sink: (r) => { process.stderr.write(`${JSON.stringify(r)}\n`); }, levels: {} }) };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('N3: Grant/Deny decision - empty Grant grants all, Deny wins, CIDR and IPv4-mapped addresses', () => {
  const p = (grant: string[], deny: string[]) => ({ grant: new AddressList(grant), deny: new AddressList(deny) });
  assert.equal(grantDecision(p([], []), '198.51.100.1'), 'granted');
  assert.equal(grantDecision(p(['10.0.0.0/8'], []), '198.51.100.1'), 'not-granted');
  assert.equal(grantDecision(p(['10.0.0.0/8'], []), '::ffff:10.1.2.3'), 'granted');
  assert.equal(grantDecision(p(['10.0.0.0/8'], ['10.9.0.0/16']), '10.9.1.1'), 'denied');
  assert.equal(grantDecision(p([], ['2001:db8::/32']), '2001:db8::5'), 'denied');
  assert.equal(perIpKey('2001:db8:1:2:aaaa::1'), perIpKey('2001:db8:1:2:bbbb::2'), 'one /64 counts as one client');
  assert.notEqual(perIpKey('2001:db8:1:2::1'), perIpKey('2001:db8:1:3::1'));
  assert.equal(perIpKey('192.0.2.1'), '192.0.2.1');
});

test('N3: a client not granted or denied is closed before any byte (second loopback address 127.0.0.2); granted ones are greeted', async (t) => {
  const logs = captureLogs();
  t.after(logs.stop);
  const a = await start([
    cfg({ Grant: ['127.0.0.1'] }),
    cfg({ Grant: ['127.0.0.0/8'], Deny: ['127.0.0.2'] }),
    cfg({ Deny: ['127.0.0.2/32'] }),
  ]);
  t.after(a.close);
  for (const i of [0, 1, 2]) {
    const ok = await LineClient.connect(a.port(i), { localAddress: '127.0.0.1' });
    assert.equal(await ok.line(), `* HELLO 127.0.0.1 ${(ok.socket as Socket).localPort}`);
    ok.destroy();
    await expectRefused(a.port(i), { localAddress: '127.0.0.2', send: 'HELLO?\r\n' });
  }
  const refused = logs.records.filter((r) => r.event === 'connection.refused');
  assert.deepEqual(refused.map((r) => [r.level, r.reason, r.remote]), [
    ['info', 'not-granted', '127.0.0.2'], ['info', 'denied', '127.0.0.2'], ['info', 'denied', '127.0.0.2'],
  ]);
  assert.equal(a.sessions.length, 3, 'no session is made for a refused connection');
});

test('N4: PROXY v1 from a ProxyFrom address - the carried address is the connection\'s, and Grant/Deny use it', async (t) => {
  const a = await start([cfg({ ProxyFrom: ['127.0.0.1'], Deny: ['203.0.113.0/24'] })]);
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  c.send('PROXY TCP4 198.51.100.7 192.0.2.1 40000 143\r\n');
  assert.equal(await c.line(), '* HELLO 198.51.100.7 40000');
  const info = await c.info();
  assert.deepEqual([info.remote, info.remotePort, info.local, info.localPort], ['198.51.100.7', 40000, '192.0.2.1', 143]);
  c.destroy();
  // The header and the first command in one segment: the command is not lost.
  const c2 = await LineClient.connect(a.port());
  c2.send('PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\nFIRST\r\n');
  assert.equal(await c2.line(), '* HELLO 2001:db8::7 1');
  assert.equal(await c2.line(), 'ECHO FIRST');
  c2.destroy();
  // A denied carried address is refused like a direct one: zero bytes.
  await expectRefused(a.port(), { send: 'PROXY TCP4 203.0.113.9 192.0.2.1 40000 143\r\nFIRST\r\n' });
});

test('N4: PROXY v2 (TCP4 with TLVs, TCP6, LOCAL) from our own bytes', async (t) => {
  const a = await start([cfg({ ProxyFrom: ['127.0.0.0/8'] })]);
  t.after(a.close);
  const sig = '0d0a0d0a000d0a515549540a';
  const tcp4 = Buffer.from(`${sig}2111001a cb007109 c0000201 1f90 008f 04 0002 0000 02 0006 6d782e636f6d`.replace(/ /g, ''), 'hex');
  const c = await LineClient.connect(a.port());
  c.send(tcp4);
  assert.equal(await c.line(), '* HELLO 203.0.113.9 8080');
  assert.deepEqual((({ local, localPort }) => ({ local, localPort }))(await c.info()), { local: '192.0.2.1', localPort: 143 });
  c.destroy();
  const tcp6 = Buffer.from(`${sig}21210024 20010db8000000000000000000000009 20010db8000000000000000000000001 0400 03e1`.replace(/ /g, ''), 'hex');
  const c6 = await LineClient.connect(a.port());
  c6.send(tcp6);
  assert.equal(await c6.line(), '* HELLO 2001:db8::9 1024');
  c6.destroy();
  // LOCAL (a health check): the real endpoints apply.
  const local = await LineClient.connect(a.port(), { localAddress: '127.0.0.2' });
  local.send(Buffer.from(`${sig}20000000`, 'hex'));
  assert.match(await local.line(), /^\* HELLO 127\.0\.0\.2 \d+$/);
  local.destroy();
});

test('N4: from a ProxyFrom address the header is required - garbage, a bad header or silence drop the connection with zero bytes', async (t) => {
  const a = await start([cfg({ ProxyFrom: ['127.0.0.1'] })], { limits: { proxyHeaderTimeoutMs: 300 } });
  t.after(a.close);
  await expectRefused(a.port(), { send: 'a1 CAPABILITY\r\n' });
  await expectRefused(a.port(), { send: 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n' });
  await expectRefused(a.port(), { send: Buffer.from('0d0a0d0a000d0a515549540a2211000c', 'hex') });
  const t0 = Date.now();
  await expectRefused(a.port());
  assert.ok(Date.now() - t0 >= 250, 'silence is dropped after the PROXY time-out');
  assert.equal(a.sessions.length, 0);
});

test('N4: from an address not in ProxyFrom, a PROXY header is never parsed - the session sees it as a command', async (t) => {
  const a = await start([cfg({ ProxyFrom: ['127.0.0.2'] })]);
  t.after(a.close);
  const c = await LineClient.connect(a.port(), { localAddress: '127.0.0.1' });
  c.send('PROXY TCP4 203.0.113.9 192.0.2.1 40000 143\r\n');
  assert.match(await c.line(), /^\* HELLO 127\.0\.0\.1 /);
  assert.equal(await c.line(), 'ECHO PROXY TCP4 203.0.113.9 192.0.2.1 40000 143');
  assert.equal((await c.info()).remote, '127.0.0.1', 'the forged address is not used');
  c.destroy();
});

test('N4: swaks --proxy-version 2 (an independent PROXY v2 sender; Debian swaks)', async (t) => {
  requireTool('swaks', 'swaks');
  const a = await start([cfg({ ProxyFrom: ['127.0.0.1'] })], { service: 'SMTP', toy: { smtp: true } });
  t.after(a.close);
  const r = await run('swaks', ['--server', '127.0.0.1', '--port', String(a.port()), '--quit-after', 'CONNECT',
    '--proxy-version', '2', '--proxy-family', 'AF_INET', '--proxy-source', '203.0.113.25', '--proxy-source-port', '4321',
    '--proxy-dest', '192.0.2.25', '--proxy-dest-port', '587'], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /<- {2}220 toy ESMTP/);
  const s = a.sessions[0]!;
  assert.deepEqual([s.info.remoteAddress, s.info.remotePort, s.info.localAddress, s.info.localPort], ['203.0.113.25', 4321, '192.0.2.25', 587]);
  // And v1, and a v2 IPv6 header.
  const v1 = await run('swaks', ['--server', '127.0.0.1', '--port', String(a.port()), '--quit-after', 'CONNECT',
    '--proxy-version', '1', '--proxy-family', 'TCP6', '--proxy-source', '2001:db8::25', '--proxy-source-port', '1',
    '--proxy-dest', '2001:db8::1', '--proxy-dest-port', '587'], { timeoutMs: 10_000 });
  assert.equal(v1.code, 0, v1.out);
  assert.equal(a.sessions[1]!.info.remoteAddress, '2001:db8::25');
  const v2six = await run('swaks', ['--server', '127.0.0.1', '--port', String(a.port()), '--quit-after', 'CONNECT',
    '--proxy-version', '2', '--proxy-family', 'AF_INET6', '--proxy-source', '2001:db8::26', '--proxy-source-port', '2',
    '--proxy-dest', '2001:db8::1', '--proxy-dest-port', '587'], { timeoutMs: 10_000 });
  assert.equal(v2six.code, 0, v2six.out);
  assert.equal(a.sessions[2]!.info.remoteAddress, '2001:db8::26');
});

test('N4: HAProxy in front (send-proxy-v2 with CRC32C and unique-id TLVs; Debian haproxy): the client\'s address arrives, Deny applies to it', async (t) => {
  requireTool('haproxy', 'haproxy');
  const a = await start([cfg({ ProxyFrom: ['127.0.0.1'], TLS: 'clear' })]);
  t.after(a.close);
  const front = await freePort('127.0.0.3');
  const dir = tempDir('haproxy');
  t.after(() => dir.remove());
  const conf = [
    'global', '  maxconn 64',
    'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 10s', '  timeout server 10s',
    'frontend fe', `  bind 127.0.0.3:${front}`, '  unique-id-format %ci-%cp-%fp', '  default_backend be',
    'backend be', `  server s1 127.0.0.1:${a.port()} send-proxy-v2 proxy-v2-options crc32c,unique-id`, '',
  ].join('\n');
  writeFileSync(dir.path('haproxy.cfg'), conf);
  const hp = spawn('haproxy', ['-db', '-f', dir.path('haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let hpOut = '';
  hp.stdout.on('data', (d: Buffer) => { hpOut += d.toString(); });
  hp.stderr.on('data', (d: Buffer) => { hpOut += d.toString(); });
  t.after(() => { if (hp.exitCode === null) hp.kill(); });
  // Wait until HAProxy listens.
  let c: LineClient | undefined;
  for (let i = 0; i < 100 && !c; i++) {
    try { c = await LineClient.connect(front, { host: '127.0.0.3', localAddress: '127.0.0.2' }); } catch { await sleep(50); }
  }
  assert.ok(c, `haproxy did not start: ${hpOut}`);
  assert.match(await c.line(), /^\* HELLO 127\.0\.0\.2 \d+$/, 'the session sees the client behind HAProxy');
  const info = await c.info();
  assert.deepEqual([info.remote, info.local, info.localPort, info.remotePort], ['127.0.0.2', '127.0.0.3', front, (c.socket as Socket).localPort]);
  c.destroy();
  // Deny the client's own address: refused although HAProxy (127.0.0.1) is the peer.
  await a.set.update([cfg({ Port: a.port(), ProxyFrom: ['127.0.0.1'], TLS: 'clear', Deny: ['127.0.0.2'] })]);
  const d = await LineClient.connect(front, { host: '127.0.0.3', localAddress: '127.0.0.2' });
  await d.waitClosed(3000);
  assert.equal(d.received, 0, 'zero bytes through HAProxy too');
  assert.equal(a.sessions.length, 1);
});

test('T1: STARTTLS injection - "STARTTLS\\r\\nEVIL\\r\\n" in one write: EVIL is never seen by the session', async (t) => {
  const logs = captureLogs();
  t.after(logs.stop);
  const a = await start([cfg()]);
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  assert.match(await c.line(), /^\* HELLO/);
  assert.equal((await c.info()).startTls, true);
  c.send('STARTTLS\r\nEVIL\r\n');
  assert.equal(await c.line(), 'OK begin TLS');
  const tls = await c.upgrade({ servername: MAIN });
  assert.equal(await c.line(), `TLS ${tls.getProtocol()}`);
  const info = await c.info();
  assert.equal(info.secure, true);
  assert.equal(info.startTls, false, 'no second STARTTLS');
  assert.equal(await c.ask('NOOP'), 'ECHO NOOP');
  const s = a.sessions[0]!;
  assert.deepEqual(s.lines, ['INFO', 'STARTTLS', 'INFO', 'NOOP'], 'EVIL never reached the session');
  assert.equal(s.tlsStarted, 1);
  assert.ok(logs.records.some((r) => r.event === 'starttls.discarded' && r.bytes === 6));
  assert.equal(info.cb['tls-exporter'], tls.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex'), 'channel binding after STARTTLS');
  c.destroy();
});

test('T1: bytes sent after the STARTTLS reply but before the handshake break the handshake, never reach the session', async (t) => {
  const a = await start([cfg()]);
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  c.send('STARTTLS\r\n');
  assert.equal(await c.line(), 'OK begin TLS');
  c.send('EVIL\r\n');
  await assert.rejects(c.upgrade());
  await c.waitClosed();
  assert.deepEqual(a.sessions[0]!.lines, ['STARTTLS']);
  assert.equal(a.sessions[0]!.closed, true);
});

test('T3, T1: implicit TLS with openssl s_client: the Test Certificate for the main domain, then the session over TLS (Debian openssl)', async (t) => {
  requireTool('openssl', 'openssl');
  const a = await start([cfg({ TLS: 'implicit' })]);
  t.after(a.close);
  const r = await openssl(['s_client', '-connect', `127.0.0.1:${a.port()}`, '-ign_eof', '-servername', MAIN], { input: 'INFO\r\nQUIT\r\n', timeoutMs: 10_000 });
  assert.match(r.stdout, /\* HELLO 127\.0\.0\.1 \d+/);
  assert.match(peerSubject(r.out) ?? '', new RegExp(`CN ?= ?${MAIN.replace('.', '\\.')}`));
  const info = JSON.parse(/^INFO (.*)$/m.exec(r.stdout)![1]!) as Record<string, unknown>;
  assert.equal(info.secure, true);
  assert.equal(info.startTls, false);
  assert.equal(info.domain, MAIN);
  assert.match(r.stdout, /^BYE/m);
});

test('A8 plumbing: channel bindings equal on both sides - TLS 1.3 tls-exporter, TLS 1.2 tls-unique (full and resumed), tls-server-end-point', async (t) => {
  const a = await start([cfg({ TLS: 'implicit' })]);
  t.after(a.close);
  const endPoint = (s: TLSSocket): string => createHash('sha256').update(s.getPeerCertificate().raw).digest('hex'); // ECDSA-SHA256 certificate

  const c13 = await LineClient.connectTls(a.port(), { minVersion: 'TLSv1.3', servername: MAIN });
  await c13.line();
  const s13 = c13.socket as TLSSocket;
  const i13 = await c13.info();
  assert.equal(i13.protocol, 'TLSv1.3');
  assert.deepEqual(i13.cb, {
    'tls-exporter': s13.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).toString('hex'),
    'tls-server-end-point': endPoint(s13),
  });
  c13.destroy();

  const c12 = await LineClient.connectTls(a.port(), { maxVersion: 'TLSv1.2', servername: MAIN });
  await c12.line();
  const s12 = c12.socket as TLSSocket;
  const i12 = await c12.info();
  assert.equal(i12.protocol, 'TLSv1.2');
  assert.equal(i12.resumed, false);
  // RFC 5929 §3.1: the first Finished of the handshake - on a full handshake, the client's.
  assert.deepEqual(i12.cb, { 'tls-unique': s12.getFinished()!.toString('hex'), 'tls-server-end-point': endPoint(s12) });
  const session = c12.tlsSessions.at(-1) ?? s12.getSession();
  assert.ok(session, 'the server gave a TLS 1.2 session');
  c12.destroy();

  const r12 = await LineClient.connectTls(a.port(), { maxVersion: 'TLSv1.2', servername: MAIN, session });
  await r12.line();
  const sr = r12.socket as TLSSocket;
  assert.equal(sr.isSessionReused(), true);
  const ir = await r12.info();
  assert.equal(ir.resumed, true);
  // On an abbreviated handshake the server's Finished comes first.
  assert.equal(ir.cb['tls-unique'], sr.getPeerFinished()!.toString('hex'));
  assert.notEqual(ir.cb['tls-unique'], i12.cb['tls-unique']);
  r12.destroy();
});

test('per-IP connection limit: the connection over the limit gets zero bytes; a slot frees on close; other addresses are not counted', async (t) => {
  const a = await start([cfg()], { limits: { perIpLimit: 2 } });
  t.after(a.close);
  const c1 = await LineClient.connect(a.port());
  const c2 = await LineClient.connect(a.port());
  await c1.line(); await c2.line();
  await expectRefused(a.port());
  const other = await LineClient.connect(a.port(), { localAddress: '127.0.0.2' });
  assert.match(await other.line(), /^\* HELLO 127\.0\.0\.2/);
  assert.equal(await c1.ask('QUIT'), 'BYE');
  await c1.waitClosed();
  await sleep(20);
  const c3 = await LineClient.connect(a.port());
  assert.match(await c3.line(), /^\* HELLO/);
  for (const c of [c2, c3, other]) c.destroy();
});

test('pre-authentication idle time-out: the session\'s reply, then close; any complete command restarts it', async (t) => {
  const a = await start([cfg()], { limits: { idleTimeoutMs: 300 } });
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  await sleep(150);
  assert.equal(await c.ask('NOOP'), 'ECHO NOOP');
  const t0 = Date.now();
  assert.equal(await c.line(2000), 'BYE idle');
  assert.ok(Date.now() - t0 >= 250, 'the timer restarted after NOOP');
  await c.waitClosed();
  assert.equal(a.sessions[0]!.idled, true);
  await until(() => a.sessions[0]!.closed);
});

test('line limits: an over-long line is reported once and skipped; a literal is read by size; a literal over the limit closes', async (t) => {
  const a = await start([cfg()], { limits: { maxLineBytes: 64, maxLiteralBytes: 32 } });
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  c.send(`${'A'.repeat(5000)}\r\nNOOP\r\n`);
  assert.equal(await c.line(), 'TOO LONG');
  assert.equal(await c.line(), 'ECHO NOOP');
  c.send('LIT 7\r\n');
  assert.equal(await c.line(), '+ go');
  c.send('ab\r\ncd\r\nNEXT\r\n');
  assert.equal(await c.line(), 'LITERAL 7 ab');
  assert.equal(await c.line(), 'cd\r');
  assert.equal(await c.line(), 'ECHO ');
  assert.equal(await c.line(), 'ECHO NEXT');
  c.send('LIT 33\r\n');
  assert.equal(await c.line(), '+ go');
  await c.waitClosed();
});

test('back-pressure on writes: a large reply to a client that reads slowly arrives whole', async (t) => {
  const a = await start([cfg()]);
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  c.socket.pause();
  c.send('BIG 8000000\r\nNOOP\r\n');
  await sleep(200);
  c.socket.resume();
  const l = await c.line(10_000);
  assert.equal(l.length, 8_000_000);
  assert.equal(await c.line(), 'ECHO NOOP');
  c.destroy();
});

for (const ownBuffers of [false, true]) {
  test(`relay${ownBuffers ? ' from a backend read into its own buffers (B1, IMAP and POP3)' : ''}: the splice moves 10 MB each way intact, with back-pressure, pipelined commands go to the backend, close passes through`, async (t) => {
    const SIZE = 10 * 1024 * 1024;
    const down = randomBytes(SIZE);
    const up = randomBytes(SIZE);
    const backendGot = createHash('sha256');
    let backendBytes = 0;
    let backendSocket: Socket | undefined;
    let backendFinished: () => void = () => undefined;
    const backendDone = new Promise<void>((resolve) => { backendFinished = resolve; });
    const server: Server = createServer({ allowHalfOpen: true }, (s) => {
      backendSocket = s;
      // Do not read for a while: the client's 10 MB must wait in the kernel and in the client's
      // own buffer, not in Mailward's memory.
      s.pause();
      setTimeout(() => s.resume(), 400);
      s.on('data', (d: Buffer) => { backendGot.update(d); backendBytes += d.length; });
      s.on('end', () => { s.end(down); backendFinished(); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    const a = await start([cfg()], { toy: { backendPort: (server.address() as AddressInfo).port, ownBuffers } });
    t.after(a.close);
    const c = await LineClient.connect(a.port());
    await c.line();
    // A command pipelined after the one that starts the relay belongs to the backend.
    c.send('RELAY\r\nPIPELINED\r\n');
    assert.equal(await c.line(), 'OK relay');
    const relayBackend = a.sessions[0]!.backend!;
    let maxQueued = 0;
    const sampler = setInterval(() => { maxQueued = Math.max(maxQueued, relayBackend.writableLength); }, 2);
    t.after(() => clearInterval(sampler));
    const client = c.socket as Socket;
    client.removeAllListeners('data');
    const clientGot = createHash('sha256');
    let clientBytes = 0;
    client.on('data', (d: Buffer) => { clientGot.update(d); clientBytes += d.length; });
    // The client does not read for a while either: the backend's 10 MB wait too (with own
    // buffers, a read stays held by its write until the client takes it).
    client.pause();
    setTimeout(() => client.resume(), 300);
    const clientEnded = new Promise<void>((r) => client.once('end', r));
    client.end(up);
    await backendDone;
    await clientEnded;
    clearInterval(sampler);
    assert.equal(backendBytes, 'PIPELINED\r\n'.length + SIZE);
    assert.equal(backendGot.digest('hex'), createHash('sha256').update('PIPELINED\r\n').update(up).digest('hex'));
    assert.equal(clientBytes, SIZE);
    assert.equal(clientGot.digest('hex'), createHash('sha256').update(down).digest('hex'));
    assert.ok(maxQueued < 1024 * 1024, `Mailward queued at most ${maxQueued} bytes towards the slow backend`);
    await c.waitClosed();
    assert.ok(backendSocket);
    await until(() => a.set.connectionCount === 0 && a.sessions[0]!.closed);
  });
}

test('relay: an error on one side tears down both', async (t) => {
  let backendSide: Socket | undefined;
  const server = createServer((s) => { backendSide = s; s.on('error', () => undefined); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const a = await start([cfg()], { toy: { backendPort: (server.address() as AddressInfo).port } });
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  assert.equal(await c.ask('RELAY'), 'OK relay');
  await sleep(20);
  backendSide!.resetAndDestroy();
  await c.waitClosed();
  await until(() => a.set.connectionCount === 0);
});

test('a session exception closes only its connection, is logged under the service tag, and the process goes on', async (t) => {
  const logs = captureLogs();
  t.after(logs.stop);
  const a = await start([cfg()]);
  t.after(a.close);
  const good = await LineClient.connect(a.port());
  const bad = await LineClient.connect(a.port());
  await good.line(); await bad.line();
  bad.send('THROW\r\n');
  await bad.waitClosed();
  assert.equal(await good.ask('NOOP'), 'ECHO NOOP');
  const rec = logs.records.find((r) => r.event === 'session.error');
  assert.ok(rec);
  assert.equal(rec.module, 'IMAP');
  assert.deepEqual((rec as unknown as { error: { message: string } }).error.message, 'toy failure');
  good.destroy();
});

test('half-close: commands pipelined before the client\'s FIN are answered, then the connection closes', async (t) => {
  const a = await start([cfg()]);
  t.after(a.close);
  const c = await LineClient.connect(a.port());
  await c.line();
  c.send('SLOW 50\r\nONE\r\n');
  (c.socket as Socket).end();
  assert.equal(await c.line(), 'SLOW done');
  assert.equal(await c.line(), 'ECHO ONE');
  await c.waitClosed();
});

test('early talkers: input before the greeting is flagged for the session (info.earlyInput)', async (t) => {
  const a = await start([cfg()], { toy: { greetDelayMs: 150 } });
  t.after(a.close);
  const early = await LineClient.connect(a.port());
  early.send('EHLO early\r\n');
  await early.line();
  assert.equal(await early.line(), '250 toy');
  assert.equal((await early.info()).early, true);
  const polite = await LineClient.connect(a.port());
  await polite.line();
  assert.equal((await polite.info()).early, false);
  early.destroy(); polite.destroy();
});

test('N3, N4: update() opens and closes listeners to match new settings without dropping open connections; bind failures are reported', async (t) => {
  const a = await start([cfg(), cfg({ TLS: 'implicit' })]);
  t.after(a.close);
  const [p0, p1] = [a.port(0), a.port(1)];
  assert.equal(a.set.bound().length, 2);
  const open = await LineClient.connect(p0);
  await open.line();
  // Keep the first, drop the second, add a Deny to the first (new connections only).
  assert.deepEqual(await a.set.update([cfg({ Port: p0, Deny: ['127.0.0.2'] })]), []);
  assert.deepEqual(a.set.bound().map((b) => b.port), [p0]);
  await assert.rejects(LineClient.connect(p1), /ECONNREFUSED/);
  assert.equal(await open.ask('NOOP'), 'ECHO NOOP', 'the open connection lives on');
  await expectRefused(p0, { localAddress: '127.0.0.2' });
  // A port someone else holds: reported, the rest still opens.
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
  t.after(() => squatter.close());
  const taken = (squatter.address() as AddressInfo).port;
  const problems = await a.set.update([cfg({ Port: p0 }), cfg({ Port: taken })]);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.code, 'EADDRINUSE');
  assert.equal(a.set.bound().length, 1);
  await a.set.close();
  await assert.rejects(LineClient.connect(p0), /ECONNREFUSED/);
  assert.equal(await open.ask('NOOP'), 'ECHO NOOP', 'close() without destroy keeps connections');
  open.destroy();
});

test('N4, T1 fuzz: hostile bytes in any chunking, to a plain and to a PROXY-required listener, only end connections cleanly; the listener keeps serving', async (t) => {
  const a = await start([cfg(), cfg({ ProxyFrom: ['127.0.0.1'] })], { limits: { proxyHeaderTimeoutMs: 100, maxLineBytes: 64, maxLiteralBytes: 16 } });
  t.after(a.close);
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 80 }).map((u) => Buffer.from(u)),
    fc.constantFrom('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'PROXY ', '\r\n', 'STARTTLS\r\n', 'LIT 5\r\n', 'LIT 99\r\n', 'THROW\r\n', 'QUIT\r\n', 'x'.repeat(100))
      .map((s) => Buffer.from(s, 'latin1')),
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from(u)])),
  );
  await fc.assert(fc.asyncProperty(fc.array(chunk, { maxLength: 8 }), async (chunks) => {
    await Promise.all([a.port(0), a.port(1)].map(async (port) => {
      const c = await LineClient.connect(port);
      for (const ch of chunks) c.send(ch);
      (c.socket as Socket).end();
      await Promise.race([c.closed, sleep(400)]);
      c.destroy();
    }));
  }), { numRuns: 40 });
  await until(() => a.set.connectionCount === 0);
  const ok = await LineClient.connect(a.port(0));
  assert.match(await ok.line(), /^\* HELLO/);
  assert.equal(await ok.ask('NOOP'), 'ECHO NOOP');
  ok.destroy();
});

test('T1, N3: a TLS client that leaves right after its handshake (before the greeting) is released: connection closed, per-address count returned', async (t) => {
  const a = await start([cfg({ TLS: 'implicit' })], { limits: { perIpLimit: 5 } });
  t.after(a.close);
  // More clients than the per-address limit, one after another: a leaked one would hold its
  // count, and the sixth would be refused.
  for (let i = 0; i < 12; i++) {
    await new Promise<void>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: a.port(), servername: MAIN, rejectUnauthorized: false });
      s.on('error', reject);
      s.once('secureConnect', () => { s.destroy(); resolve(); });
    });
  }
  await until(() => a.set.connectionCount === 0);
  const c = await LineClient.connectTls(a.port(), { servername: MAIN });
  assert.match(await c.line(), /^\* HELLO /);
  c.destroy();
  await until(() => a.set.connectionCount === 0);
});

test('T1, N3: a client that leaves right after its STARTTLS handshake is released too', async (t) => {
  const a = await start([cfg()], { limits: { perIpLimit: 3 } });
  t.after(a.close);
  for (let i = 0; i < 8; i++) {
    const c = await LineClient.connect(a.port());
    await c.line();
    assert.equal(await c.ask('STARTTLS'), 'OK begin TLS');
    const s = await c.upgrade({ servername: MAIN });
    s.destroy();
    await until(() => a.set.connectionCount === 0);
  }
});
