import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  PROXY_V1_MAX_BYTES, PROXY_V2_MAX_BYTES, ProxyHeaderReader, crc32c, parseProxyHeader,
  type ProxyError, type ProxyHeader, type ProxyParseResult,
} from './proxy-protocol.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[^0-9a-f]/gi, ''), 'hex');
const SIG = '0d0a0d0a 000d0a51 5549540a';

/** Builds a v2 header the way the specification lays it out (§2.2), for the fuzz tests. */
function v2(verCmd: number, fam: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h[0] = verCmd; h[1] = fam; h.writeUInt16BE(body.length, 2);
  return Buffer.concat([hex(SIG), h, body]);
}

function tlv(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(3);
  h[0] = type; h.writeUInt16BE(value.length, 1);
  return Buffer.concat([h, value]);
}

/** v2 TCP4 192.168.0.1:56324 -> 192.168.0.11:443, with a CRC32C TLV filled in per §2.2.3. */
function withCrc(): Buffer {
  const body = Buffer.concat([hex('c0a80001 c0a8000b dc04 01bb'), tlv(0x03, Buffer.alloc(4)), tlv(0x05, Buffer.from('id-1'))]);
  const h = v2(0x21, 0x11, body);
  const at = 16 + 12 + 3;
  h.writeUInt32BE(crc32c(h), at);
  return h;
}

type Want = { ok: ProxyHeader; length: number } | { error: ProxyError } | 'incomplete';

// Byte-exact examples, written from HAProxy's doc/proxy-protocol.txt §2.1 and §2.2 (Debian
// package haproxy: /usr/share/doc/haproxy/proxy-protocol.txt.gz). Each row says why it exists.
const TABLE: Array<{ why: string; input: Buffer; want: Want }> = [
  {
    why: '§2.1 example line (TCP4), followed by the protocol\'s own bytes',
    input: Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n'),
    want: { ok: { command: 'proxy', version: 1, family: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 }, tlvTypes: [] }, length: 47 },
  },
  {
    why: 'TCP6, upper-case and compressed forms, normalised to RFC 5952 text',
    input: Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:1 2001:db8::2 65535 0\r\n'),
    want: { ok: { command: 'proxy', version: 1, family: 'tcp6', source: { address: '2001:db8::1', port: 65535 }, destination: { address: '2001:db8::2', port: 0 }, tlvTypes: [] }, length: 53 },
  },
  {
    why: '§2.1 longest TCP6 line (104 bytes) fits',
    input: Buffer.from(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`),
    want: { ok: { command: 'proxy', version: 1, family: 'tcp6', source: { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 }, destination: { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 }, tlvTypes: [] }, length: 104 },
  },
  {
    why: '§2.1 UNKNOWN short form: the real endpoints apply',
    input: Buffer.from('PROXY UNKNOWN\r\n'),
    want: { ok: { command: 'local', version: 1, reason: 'unknown', tlvTypes: [] }, length: 15 },
  },
  {
    why: '§2.1 worst case: UNKNOWN with full addresses is exactly 107 bytes, and its fields are ignored',
    input: Buffer.from(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`),
    want: { ok: { command: 'local', version: 1, reason: 'unknown', tlvTypes: [] }, length: 107 },
  },
  { why: 'not a PROXY header at all (an HTTP request)', input: Buffer.from('GET / HTTP/1.1\r\n'), want: { error: 'not-proxy' } },
  { why: 'v1 is case-sensitive', input: Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), want: { error: 'not-proxy' } },
  { why: '§2.1: a bare LF must not end the line', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), want: { error: 'v1-syntax' } },
  { why: 'exactly one space between fields', input: Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: '§2.1: no leading zeroes in addresses (octal confusion)', input: Buffer.from('PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: '§2.1: no leading zeroes in ports', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'a port over 65535', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'an octet over 255', input: Buffer.from('PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'inet_aton shorthand is not an address here', input: Buffer.from('PROXY TCP4 127.1 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'the family must match the addresses', input: Buffer.from('PROXY TCP4 ::1 ::1 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'a zone id is not an address', input: Buffer.from('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'an unknown protocol name', input: Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'missing fields', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), want: { error: 'v1-syntax' } },
  { why: 'extra fields', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n'), want: { error: 'v1-syntax' } },
  { why: 'a negative port', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: '§2.1: no CRLF within 107 bytes', input: Buffer.from(`PROXY UNKNOWN ${'x'.repeat(200)}`), want: { error: 'v1-too-long' } },
  { why: 'a control byte fails at once, without waiting for 107 bytes', input: Buffer.from('PROXY TCP4 1.2\u0000'), want: { error: 'v1-syntax' } },
  { why: 'a CR in the middle of the line', input: Buffer.from('PROXY TCP4 1.2.3.4\r 5.6.7.8 1 2\r\n'), want: { error: 'v1-syntax' } },
  { why: 'a prefix of a valid v1 header is incomplete, not an error', input: Buffer.from('PROXY TCP4 1.2.3.4 5.6.'), want: 'incomplete' },
  { why: 'a partial "PROXY" is incomplete', input: Buffer.from('PRO'), want: 'incomplete' },
  {
    why: '§2.2 TCP over IPv4 (\\x11, 12 address bytes)',
    input: hex(`${SIG} 21 11 000c c0a80001 c0a8000b dc04 01bb`),
    want: { ok: { command: 'proxy', version: 2, family: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 }, tlvTypes: [] }, length: 28 },
  },
  {
    why: '§2.2 TCP over IPv6 (\\x21, 36 address bytes)',
    input: hex(`${SIG} 21 21 0024 20010db8000000000000000000000001 20010db8000000000000000000000002 0401 008f`),
    want: { ok: { command: 'proxy', version: 2, family: 'tcp6', source: { address: '2001:db8::1', port: 1025 }, destination: { address: '2001:db8::2', port: 143 }, tlvTypes: [] }, length: 52 },
  },
  {
    why: 'an IPv4-mapped IPv6 source is the IPv4 address for every rule',
    input: hex(`${SIG} 21 21 0024 00000000000000000000ffffcb007107 00000000000000000000000000000001 04d2 008f`),
    want: { ok: { command: 'proxy', version: 2, family: 'tcp6', source: { address: '203.0.113.7', port: 1234 }, destination: { address: '::1', port: 143 }, tlvTypes: [] }, length: 52 },
  },
  { why: '§2.2 LOCAL (health check) with no address: real endpoints', input: hex(`${SIG} 20 00 0000`), want: { ok: { command: 'local', version: 2, reason: 'local', tlvTypes: [] }, length: 16 } },
  {
    why: '§2.2: LOCAL with an address block: "must not assume zero", the block is skipped whole',
    input: hex(`${SIG} 20 11 000c c0a80001 c0a8000b dc04 01bb 414243`),
    want: { ok: { command: 'local', version: 2, reason: 'local', tlvTypes: [] }, length: 28 },
  },
  { why: '§2.2 UNSPEC with PROXY: accepted with the real endpoints', input: hex(`${SIG} 21 00 0000`), want: { ok: { command: 'local', version: 2, reason: 'unspec', tlvTypes: [] }, length: 16 } },
  { why: '§2.2 AF_UNIX stream (216 address bytes): no IP to apply rules to', input: Buffer.concat([hex(`${SIG} 21 31 00d8`), Buffer.alloc(216)]), want: { ok: { command: 'local', version: 2, reason: 'unix', tlvTypes: [] }, length: 232 } },
  { why: '§2.2 UDP over IPv4: not a stream we relay', input: hex(`${SIG} 21 12 000c 01020304 05060708 0001 0002`), want: { ok: { command: 'local', version: 2, reason: 'dgram', tlvTypes: [] }, length: 28 } },
  {
    why: '§2.2 TLVs (NOOP 0x04, AUTHORITY 0x02) after the addresses are skipped',
    input: hex(`${SIG} 21 11 001a c0a80001 c0a8000b dc04 01bb 04 0002 0000 02 0006 6d782e636f6d`),
    want: { ok: { command: 'proxy', version: 2, family: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 }, tlvTypes: [4, 2] }, length: 42 },
  },
  {
    why: '§2.2.3 a correct CRC32C is accepted',
    input: withCrc(),
    want: { ok: { command: 'proxy', version: 2, family: 'tcp4', source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 }, tlvTypes: [3, 5] }, length: 16 + 12 + 7 + 7 },
  },
  { why: '§2.2.3 a wrong CRC32C makes the connection invalid', input: (() => { const b = withCrc(); b.writeUInt8(b.readUInt8(b.length - 1) ^ 1, b.length - 1); return b; })(), want: { error: 'v2-crc' } },
  { why: 'a CRC32C TLV that is not 4 bytes', input: hex(`${SIG} 21 11 000f c0a80001 c0a8000b dc04 01bb 03 0000`), want: { error: 'v2-tlv' } },
  { why: '§2.2: only version 2 is accepted', input: hex(`${SIG} 11 11 000c c0a80001 c0a8000b dc04 01bb`), want: { error: 'v2-version' } },
  { why: '§2.2: unassigned commands are dropped', input: hex(`${SIG} 22 11 000c c0a80001 c0a8000b dc04 01bb`), want: { error: 'v2-command' } },
  { why: '§2.2: unassigned families must be rejected', input: hex(`${SIG} 21 41 000c c0a80001 c0a8000b dc04 01bb`), want: { error: 'v2-family' } },
  { why: '§2.2: unassigned transports must be rejected', input: hex(`${SIG} 21 13 000c c0a80001 c0a8000b dc04 01bb`), want: { error: 'v2-family' } },
  { why: 'a length beyond our bound is refused before waiting for 64 KiB', input: hex(`${SIG} 21 11 ffff`), want: { error: 'v2-too-long' } },
  { why: 'an address block shorter than its family needs', input: hex(`${SIG} 21 11 0008 c0a80001 c0a8000b`), want: { error: 'v2-address' } },
  { why: 'a TLV whose length runs past the header', input: hex(`${SIG} 21 11 0011 c0a80001 c0a8000b dc04 01bb 02 0009 6162`), want: { error: 'v2-tlv' } },
  { why: 'a TLV header cut short (2 bytes left)', input: hex(`${SIG} 21 11 000e c0a80001 c0a8000b dc04 01bb 0200`), want: { error: 'v2-tlv' } },
  { why: 'one wrong signature byte', input: hex('0d0a0d0a 000d0a51 5549540b 21 11 000c'), want: { error: 'not-proxy' } },
  { why: 'a partial signature is incomplete', input: hex('0d0a0d0a 00'), want: 'incomplete' },
  { why: 'a complete fixed part waiting for its address block is incomplete', input: hex(`${SIG} 21 11 000c c0a8`), want: 'incomplete' },
  { why: 'an empty input is incomplete', input: Buffer.alloc(0), want: 'incomplete' },
];

function check(r: ProxyParseResult, want: Want): void {
  if (want === 'incomplete') { assert.deepEqual(r, { status: 'incomplete' }); return; }
  if ('error' in want) { assert.equal(r.status, 'error'); assert.equal(r.status === 'error' && r.error, want.error); return; }
  assert.equal(r.status, 'ok', JSON.stringify(r));
  if (r.status === 'ok') { assert.deepEqual(r.header, want.ok); assert.equal(r.length, want.length); }
}

for (const row of TABLE) {
  test(`N4 PROXY parser: ${row.why}`, () => {
    check(parseProxyHeader(row.input), row.want);
    // The incremental reader, byte by byte, reaches the same verdict (and hands back the rest).
    const reader = new ProxyHeaderReader();
    let r: ReturnType<ProxyHeaderReader['push']> = { status: 'incomplete' };
    for (const b of row.input) { r = reader.push(Buffer.from([b])); if (r.status !== 'incomplete') break; }
    if (row.want === 'incomplete') assert.equal(r.status, 'incomplete');
    else if ('error' in row.want) assert.equal(r.status === 'error' && r.error, row.want.error);
    else {
      assert.equal(r.status, 'ok');
      if (r.status === 'ok') assert.deepEqual(r.header, row.want.ok);
    }
  });
}

test('N4 PROXY: CRC32C matches the RFC 4960 check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeroes
});

test('N4 PROXY: the reader returns the bytes after the header, across one chunk', () => {
  const r = new ProxyHeaderReader().push(Buffer.concat([hex(`${SIG} 21 11 000c c0a80001 c0a8000b dc04 01bb`), Buffer.from('\x16\x03\x01hello')]));
  assert.equal(r.status, 'ok');
  assert.equal(r.status === 'ok' && r.rest.toString('latin1'), '\x16\x03\x01hello');
  assert.throws(() => { const x = new ProxyHeaderReader(); x.push(Buffer.from('PROXY UNKNOWN\r\n')); x.push(Buffer.from('a')); });
});

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const port = fc.nat(65535);

test('N4 PROXY fuzz: arbitrary bytes give a clean result, never a throw; ok never reads past the input or the bounds', () => {
  fc.assert(fc.property(fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
    fc.uint8Array({ maxLength: 120 }).map((u) => Buffer.concat([hex(SIG), Buffer.from(u)])),
    fc.string({ maxLength: 120 }).map((s) => Buffer.from(`PROXY ${s}`)),
  ), (input) => {
    const r = parseProxyHeader(input);
    assert.ok(['ok', 'error', 'incomplete'].includes(r.status));
    if (r.status === 'ok') {
      assert.ok(r.length <= input.length);
      assert.ok(r.length <= Math.max(PROXY_V1_MAX_BYTES, PROXY_V2_MAX_BYTES));
      // Every prefix of an accepted header is "incomplete": the incremental reader never
      // rejects a header just because it arrived in pieces.
      for (let i = 0; i < r.length; i++) assert.equal(parseProxyHeader(input.subarray(0, i)).status, 'incomplete', `prefix ${i}`);
    }
    if (r.status === 'incomplete') assert.ok(input.length < Math.max(PROXY_V1_MAX_BYTES, PROXY_V2_MAX_BYTES));
  }), { numRuns: 3000 });
});

test('N4 PROXY fuzz: generated v1/v2 headers round-trip, in any chunking, and one flipped byte never throws', () => {
  const header = fc.oneof(
    fc.tuple(ipv4, ipv4, port, port).map(([s, d, sp, dp]) => ({
      bytes: Buffer.from(`PROXY TCP4 ${s.join('.')} ${d.join('.')} ${sp} ${dp}\r\n`), src: s.join('.'), sp, dp,
    })),
    fc.tuple(ipv4, ipv4, port, port, fc.array(fc.tuple(fc.integer({ min: 0x04, max: 0xff }).filter((t) => t !== 3), fc.uint8Array({ maxLength: 40 })), { maxLength: 4 })).map(([s, d, sp, dp, tlvs]) => {
      const a = Buffer.alloc(12);
      Buffer.from(s).copy(a, 0); Buffer.from(d).copy(a, 4); a.writeUInt16BE(sp, 8); a.writeUInt16BE(dp, 10);
      return { bytes: v2(0x21, 0x11, Buffer.concat([a, ...tlvs.map(([t, v]) => tlv(t, Buffer.from(v)))])), src: s.join('.'), sp, dp };
    }),
  );
  fc.assert(fc.property(header, fc.array(fc.nat(), { maxLength: 8 }), fc.nat(), fc.nat(255), fc.uint8Array({ maxLength: 20 }), (h, cuts, flipAt, flip, tail) => {
    const input = Buffer.concat([h.bytes, Buffer.from(tail)]);
    const whole = parseProxyHeader(input);
    assert.equal(whole.status, 'ok');
    if (whole.status !== 'ok' || whole.header.command !== 'proxy') throw new Error('expected a proxy header');
    assert.deepEqual(whole.header.source, { address: h.src, port: h.sp });
    assert.equal(whole.header.destination.port, h.dp);
    assert.equal(whole.length, h.bytes.length);
    const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
    const reader = new ProxyHeaderReader();
    let prev = 0;
    let r: ReturnType<ProxyHeaderReader['push']> = { status: 'incomplete' };
    for (const p of [...points, input.length]) {
      r = reader.push(input.subarray(prev, p));
      prev = p;
      if (r.status !== 'incomplete') break;
    }
    assert.equal(r.status, 'ok');
    if (r.status === 'ok') assert.deepEqual(Buffer.concat([r.rest, input.subarray(prev)]), Buffer.from(tail));
    const mutated = Buffer.from(input);
    const i = flipAt % mutated.length;
    mutated[i] = (mutated[i] as number) ^ (flip || 1);
    assert.ok(['ok', 'error', 'incomplete'].includes(parseProxyHeader(mutated).status));
  }), { numRuns: 1500 });
});
