// T2: the ClientHello reader that routes a ticket under the previous ticket key to its contexts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createServer as netServer, type AddressInfo } from 'node:net';
import { connect, createServer as tlsServer, type SecureVersion } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { readClientHello } from './client-hello.js';
import { makeTestCertificate } from './test-certificate.js';

/** The first bytes a real Node TLS client sends, with or without a session to resume. */
async function captureHello(opts: { servername?: string; session?: Buffer; maxVersion?: SecureVersion }): Promise<Buffer> {
  const server = netServer();
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, ...opts });
  c.on('error', () => undefined);
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

/** A real session from a Node TLS server whose ticket keys we chose. */
async function realSession(ticketKeys: Buffer, maxVersion: SecureVersion): Promise<Buffer> {
  const t = await makeTestCertificate('hello.test');
  const server = tlsServer({ key: t.keyPem, cert: t.certPem, ticketKeys }, (s) => { s.end('x'); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const session = await new Promise<Buffer>((resolve, reject) => {
    const c = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion, servername: 'hello.test' });
    c.once('session', (s: Buffer) => { resolve(s); });
    c.on('data', () => undefined);
    c.on('error', reject);
  });
  server.close();
  return session;
}

test('T2: SNI is read from a real ClientHello; a fresh one carries no ticket', async () => {
  const info = readClientHello(await captureHello({ servername: 'Mail.Example.com' }));
  assert.equal(info.status, 'ok');
  if (info.status !== 'ok') return;
  assert.equal(info.serverName, 'Mail.Example.com');
  assert.equal(info.ticketKeyName, undefined);
});

for (const v of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`T2: the ticket key name is read from a resuming ${v} ClientHello (${v === 'TLSv1.2' ? 'session_ticket' : 'pre_shared_key'})`, async () => {
    const keys = randomBytes(48);
    const session = await realSession(keys, v);
    const info = readClientHello(await captureHello({ servername: 'hello.test', session, maxVersion: v }));
    assert.equal(info.status, 'ok');
    if (info.status === 'ok') assert.deepEqual(info.ticketKeyName, keys.subarray(0, 16));
  });
}

test('T2: supported_versions: a default client offers TLS 1.3, one capped at TLS 1.2 does not', async () => {
  const both = readClientHello(await captureHello({ servername: 'v.example' }));
  assert.ok(both.status === 'ok' && both.offersTls13 === true);
  const old = readClientHello(await captureHello({ servername: 'v.example', maxVersion: 'TLSv1.2' }));
  assert.ok(old.status === 'ok' && old.offersTls13 === undefined);
});

/** A ClientHello record with no cipher suites and the given extensions (type, body). */
function helloWith(exts: Array<[number, Buffer]>): Buffer {
  const ext = Buffer.concat(exts.map(([t, b]) => { const h = Buffer.alloc(4); h.writeUInt16BE(t, 0); h.writeUInt16BE(b.length, 2); return Buffer.concat([h, b]); }));
  const extLen = Buffer.alloc(2);
  extLen.writeUInt16BE(ext.length);
  const body = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(32), Buffer.from([0, 0, 0, 1, 0]), extLen, ext]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
}

test('T2: supported_versions table: what counts as offering TLS 1.3', () => {
  // Each row: extension body, expected status and offersTls13, why the row exists.
  const rows: Array<[Buffer, 'ok' | 'unparsed', boolean, string]> = [
    [Buffer.from([4, 0x03, 0x04, 0x03, 0x03]), 'ok', true, 'TLS 1.3 then 1.2, as clients send it'],
    [Buffer.from([6, 0x3a, 0x3a, 0x03, 0x03, 0x03, 0x04]), 'ok', true, 'a GREASE value first (RFC 8701), 1.3 last'],
    [Buffer.from([2, 0x03, 0x03]), 'ok', false, 'TLS 1.2 only'],
    [Buffer.from([2, 0x7f, 0x1c]), 'ok', false, 'a draft version is not TLS 1.3'],
    [Buffer.from([4, 0x03, 0x04]), 'unparsed', false, 'a list longer than the extension: OpenSSL refuses it'],
    [Buffer.from([1, 0x03, 0x04]), 'unparsed', false, 'a list shorter than the extension (trailing bytes)'],
    [Buffer.from([3, 0x03, 0x04, 0x03]), 'unparsed', false, 'an odd length: half a version'],
    [Buffer.alloc(0), 'unparsed', false, 'an empty extension without its length byte'],
  ];
  for (const [body, status, tls13, why] of rows) {
    const r = readClientHello(helloWith([[43, body]]));
    assert.equal(r.status, status, why);
    assert.equal(r.status === 'ok' && r.offersTls13 === true, tls13, why);
  }
});

test('T2: malformed ClientHellos yield incomplete/unparsed, never a throw', async () => {
  const real = await captureHello({ servername: 'a.example' });
  // Each row: input, expected status, why the row exists.
  const rows: Array<[Buffer, 'incomplete' | 'unparsed', string]> = [
    [Buffer.alloc(0), 'incomplete', 'nothing received yet'],
    [real.subarray(0, 4), 'incomplete', 'a record header split across TCP segments'],
    [real.subarray(0, real.length - 1), 'incomplete', 'the record is not complete yet'],
    [Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'unparsed', 'plain text on a TLS port: OpenSSL must answer it, not us'],
    [Buffer.from([0x80, 0x2e, 0x01, 0x00, 0x02]), 'unparsed', 'SSLv2-framed hello'],
    [Buffer.from([22, 3, 1, 0, 0]), 'unparsed', 'an empty record'],
    [Buffer.from([22, 3, 1, 0xff, 0xff]), 'unparsed', 'a record longer than TLS allows'],
    [Buffer.concat([Buffer.from([22, 3, 1, 0, 4, 2, 0, 0, 0])]), 'unparsed', 'a ServerHello instead of a ClientHello'],
    [Buffer.concat([Buffer.from([22, 3, 1, 0, 4, 1, 0, 0xff, 0xff])]), 'unparsed', 'a hello that claims to continue in another record'],
  ];
  for (const [input, status, why] of rows) assert.equal(readClientHello(input).status, status, why);
  // Every truncation of the extensions inside a record that claims to be whole.
  for (let cut = 6; cut < real.length - 5; cut += 7) {
    const b = Buffer.from(real.subarray(0, 5 + cut));
    b.writeUInt16BE(cut, 3);
    assert.notEqual(readClientHello(b).status, 'incomplete');
  }
});

test('T2: fuzz: mutated and random hellos only produce values', async () => {
  const real = await captureHello({ servername: 'fuzz.example' });
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (muts) => {
    const b = Buffer.from(real);
    for (const [i, v] of muts) b[i] = v;
    const r = readClientHello(b);
    assert.ok(['ok', 'incomplete', 'unparsed'].includes(r.status));
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (a) => {
    const b = Buffer.from(a);
    if (b.length > 0) b[0] = 22;
    if (b.length > 1) b[1] = 3;
    assert.ok(['ok', 'incomplete', 'unparsed'].includes(readClientHello(b).status));
  }), { numRuns: 3000 });
});
