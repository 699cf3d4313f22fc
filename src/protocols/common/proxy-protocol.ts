/**
 * PROXY protocol v1 (text) and v2 (binary) header parser (N4), after HAProxy's specification
 * "The PROXY protocol, Versions 1 & 2" (doc/proxy-protocol.txt, shipped in Debian's haproxy).
 *
 * The header is trusted only from a listener's ProxyFrom addresses; the listener reads it first
 * (before any byte is sent) and every rule after that - Grant/Deny, N2, per-IP limits, logs -
 * uses the address it carries. Anything that does not match the specification exactly is a
 * clean error and the connection is dropped (§2.1: "Any sequence which does not exactly match
 * the protocol must be discarded and cause the receiver to abort the connection").
 *
 * Incremental: `ProxyHeaderReader.push` takes chunks as they arrive and decides as early as it
 * can (a first byte that starts neither signature is an error at once). Bounded: v1 ends within
 * 107 bytes, v2 within PROXY_V2_MAX_BYTES; the reader never holds more than that.
 *
 * LOCAL (v2), UNKNOWN (v1) and address families we do not relay as IP (AF_UNSPEC, AF_UNIX,
 * datagram transports) are accepted as the specification asks and reported as `local`: the
 * connection's real endpoints (the proxy's) apply. A load balancer sends those for health checks.
 */
import { isIPv6, type Socket } from 'node:net';
import { normalizeAddress } from '../../tls/context.js';

/** §2.1: the longest v1 line, "PROXY UNKNOWN" with two full IPv6 addresses and ports, with CRLF. */
export const PROXY_V1_MAX_BYTES = 107;

/** v2 headers are 16 bytes plus a 16-bit length, so up to 65551 bytes. What senders really put
 *  there - 36 address bytes plus TLVs: ALPN, authority (a host name, <= 255), CRC32C, unique ID
 *  (<= 128, §2.2.5), SSL with version, cipher, CN, algorithms - stays well under 1 KiB; 4 KiB
 *  leaves room for all of them at their largest and bounds what an unauthenticated peer on a
 *  ProxyFrom address can make us buffer. */
export const PROXY_V2_MAX_BYTES = 4096;

/** Both headers fit in one segment and senders write them at once (§2.1, §2.2), so a load
 *  balancer that has not sent its header in this time is not going to: the connection is dropped
 *  rather than held open by a peer that connects and says nothing. */
export const PROXY_HEADER_TIMEOUT_MS = 3000;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED = 16;

/** §2.2 address block sizes: two addresses and, for IP, two ports. */
const V2_INET_BYTES = 12;
const V2_INET6_BYTES = 36;
const V2_UNIX_BYTES = 216;

/** §2.2.3 */
export const PP2_TYPE_CRC32C = 0x03;

export interface ProxyEndpoint { address: string; port: number }

export type ProxyHeader =
  | {
      command: 'proxy';
      version: 1 | 2;
      family: 'tcp4' | 'tcp6';
      /** The client, as the proxy saw it. */
      source: ProxyEndpoint;
      /** The address and port the client connected to (the proxy's listener). */
      destination: ProxyEndpoint;
      /** v2 TLV types present (skipped; CRC32C verified when present). */
      tlvTypes: number[];
    }
  | {
      command: 'local';
      version: 1 | 2;
      /** Why the real endpoints apply: a LOCAL command (health check), v1 UNKNOWN, or a family
       *  or transport that carries no IP endpoints we can apply rules to. */
      reason: 'local' | 'unknown' | 'unspec' | 'unix' | 'dgram';
      tlvTypes: number[];
    };

export type ProxyError =
  | 'not-proxy'      // neither signature: a client that is not a proxy, or a misconfigured one
  | 'v1-too-long'    // no CRLF within 107 bytes
  | 'v1-syntax'      // anything not exactly as §2.1 describes
  | 'v2-version'     // version nibble not 2
  | 'v2-command'     // command nibble not LOCAL or PROXY
  | 'v2-family'      // unassigned family or transport nibble
  | 'v2-too-long'    // announced length over PROXY_V2_MAX_BYTES
  | 'v2-address'     // address block shorter than its family needs
  | 'v2-tlv'         // a TLV overruns the header, or a CRC32C TLV of the wrong size
  | 'v2-crc';        // CRC32C present and wrong

export type ProxyParseResult =
  | { status: 'incomplete' }
  | { status: 'ok'; header: ProxyHeader; length: number }
  | { status: 'error'; error: ProxyError; message: string };

const fail = (error: ProxyError, message: string): ProxyParseResult => ({ status: 'error', error, message });

/** Parses a header at the start of `data` (all bytes received so far). Never throws. */
export function parseProxyHeader(data: Buffer): ProxyParseResult {
  if (data.length === 0) return { status: 'incomplete' };
  if (data[0] === 0x0d) return parseV2(data);
  if (data[0] === 0x50) return parseV1(data);
  return fail('not-proxy', 'the connection did not start with a PROXY protocol header');
}

// ---- version 1 ---------------------------------------------------------------------------------

/** §2.1: four decimal numbers 0-255 without leading zeroes, separated by single dots. */
const IPV4_STRICT = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** §2.1: a port 0-65535 without leading zeroes. */
const PORT_STRICT = /^(?:0|[1-9]\d{0,4})$/;
/** §2.1: IPv6 as hexadecimal groups and colons. (A dotted IPv4 tail is what inet_pton accepts
 *  and HAProxy parses with it, so we take it too; zone identifiers are not addresses.) */
const IPV6_CHARS = /^[0-9A-Fa-f:.]+$/;

function parseV1(data: Buffer): ProxyParseResult {
  const prefixBytes = Math.min(data.length, V1_PREFIX.length);
  if (!data.subarray(0, prefixBytes).equals(V1_PREFIX.subarray(0, prefixBytes))) {
    return fail('not-proxy', 'the connection did not start with a PROXY protocol header');
  }
  const window = data.subarray(0, Math.min(data.length, PROXY_V1_MAX_BYTES));
  const lf = window.indexOf(0x0a);
  if (lf < 0) {
    if (data.length >= PROXY_V1_MAX_BYTES) return fail('v1-too-long', `no CRLF within ${PROXY_V1_MAX_BYTES} bytes`);
    // Only printable US-ASCII and a final CR can be part of a header: fail early on anything else.
    for (let i = 0; i < window.length; i++) {
      const b = window[i] as number;
      if ((b < 0x20 || b > 0x7e) && !(b === 0x0d && i === window.length - 1)) return fail('v1-syntax', 'a byte that cannot appear in a v1 header');
    }
    return { status: 'incomplete' };
  }
  // §2.1: "The receiver must not tolerate a single CR or LF character to end the line".
  if (lf === 0 || window[lf - 1] !== 0x0d) return fail('v1-syntax', 'the header line does not end with CRLF');
  const line = window.subarray(0, lf - 1);
  for (const b of line) if (b < 0x20 || b > 0x7e) return fail('v1-syntax', 'a byte that cannot appear in a v1 header');
  const text = line.toString('latin1');
  const parts = text.split(' ');
  const length = lf + 1;
  // §2.1: for UNKNOWN "the receiver must ignore anything presented before the CRLF".
  if (parts[1] === 'UNKNOWN') return { status: 'ok', length, header: { command: 'local', version: 1, reason: 'unknown', tlvTypes: [] } };
  if (parts.length !== 6) return fail('v1-syntax', 'a v1 header has exactly six fields separated by single spaces');
  const [, proto, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (proto !== 'TCP4' && proto !== 'TCP6') return fail('v1-syntax', 'the protocol must be TCP4, TCP6 or UNKNOWN');
  const addr = (s: string): string | null => {
    if (proto === 'TCP4') return IPV4_STRICT.test(s) ? s : null;
    if (!IPV6_CHARS.test(s) || !isIPv6(s)) return null;
    return normalizeAddress(s);
  };
  const source = addr(src);
  const destination = addr(dst);
  if (source === null || destination === null) return fail('v1-syntax', `an address that is not a canonical ${proto === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  const port = (s: string): number | null => (PORT_STRICT.test(s) && Number(s) <= 65535 ? Number(s) : null);
  const sp = port(sport);
  const dp = port(dport);
  if (sp === null || dp === null) return fail('v1-syntax', 'a port that is not a decimal number 0-65535 without leading zeroes');
  return {
    status: 'ok', length,
    header: { command: 'proxy', version: 1, family: proto === 'TCP4' ? 'tcp4' : 'tcp6', source: { address: source, port: sp }, destination: { address: destination, port: dp }, tlvTypes: [] },
  };
}

// ---- version 2 ---------------------------------------------------------------------------------

function parseV2(data: Buffer): ProxyParseResult {
  const sigBytes = Math.min(data.length, V2_SIGNATURE.length);
  if (!data.subarray(0, sigBytes).equals(V2_SIGNATURE.subarray(0, sigBytes))) {
    return fail('not-proxy', 'the connection did not start with a PROXY protocol header');
  }
  if (data.length > 12) {
    const verCmd = data[12] as number;
    if (verCmd >> 4 !== 2) return fail('v2-version', `version ${verCmd >> 4}, only 2 exists`);
    if ((verCmd & 0x0f) > 1) return fail('v2-command', `command ${verCmd & 0x0f} is unassigned`);
  }
  if (data.length > 13) {
    const fam = data[13] as number;
    if (fam >> 4 > 3 || (fam & 0x0f) > 2) return fail('v2-family', `family/transport byte 0x${fam.toString(16).padStart(2, '0')} is unassigned`);
  }
  if (data.length < V2_FIXED) return { status: 'incomplete' };
  const len = data.readUInt16BE(14);
  const total = V2_FIXED + len;
  if (total > PROXY_V2_MAX_BYTES) return fail('v2-too-long', `header of ${total} bytes, over the limit of ${PROXY_V2_MAX_BYTES}`);
  if (data.length < total) return { status: 'incomplete' };
  const header = data.subarray(0, total);
  const command = (data[12] as number) & 0x0f;
  const family = (data[13] as number) >> 4;
  const transport = (data[13] as number) & 0x0f;
  // §2.2: for LOCAL the receiver "must use the real connection endpoints and discard the protocol
  // block including the family which is ignored" - nothing in it is parsed.
  if (command === 0) return { status: 'ok', length: total, header: { command: 'local', version: 2, reason: 'local', tlvTypes: [] } };
  const addressBytes = family === 1 ? V2_INET_BYTES : family === 2 ? V2_INET6_BYTES : family === 3 ? V2_UNIX_BYTES : 0;
  if (len < addressBytes) return fail('v2-address', `address block of ${len} bytes, the family needs ${addressBytes}`);
  const tlvs = walkTlvs(header, V2_FIXED + addressBytes);
  if (tlvs.status === 'error') return tlvs;
  const tlvTypes = tlvs.types;
  if (family === 0 || transport === 0) return { status: 'ok', length: total, header: { command: 'local', version: 2, reason: 'unspec', tlvTypes } };
  if (family === 3) return { status: 'ok', length: total, header: { command: 'local', version: 2, reason: 'unix', tlvTypes } };
  if (transport === 2) return { status: 'ok', length: total, header: { command: 'local', version: 2, reason: 'dgram', tlvTypes } };
  const a = V2_FIXED;
  let source: string;
  let destination: string;
  let ports: number;
  if (family === 1) {
    source = ipv4Text(header, a);
    destination = ipv4Text(header, a + 4);
    ports = a + 8;
  } else {
    source = ipv6Text(header, a);
    destination = ipv6Text(header, a + 16);
    ports = a + 32;
  }
  return {
    status: 'ok', length: total,
    header: {
      command: 'proxy', version: 2, family: family === 1 ? 'tcp4' : 'tcp6',
      source: { address: source, port: header.readUInt16BE(ports) },
      destination: { address: destination, port: header.readUInt16BE(ports + 2) },
      tlvTypes,
    },
  };
}

function ipv4Text(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(at + 2 * i).toString(16));
  // Canonical text (RFC 5952), and IPv4-mapped addresses as IPv4, as every other address we log.
  return normalizeAddress(groups.join(':')) ?? groups.join(':');
}

/** Walks the TLVs between `from` and the end of the header with bounds checks; verifies CRC32C. */
function walkTlvs(header: Buffer, from: number): { status: 'ok'; types: number[] } | Extract<ProxyParseResult, { status: 'error' }> {
  const types: number[] = [];
  let at = from;
  while (at < header.length) {
    if (header.length - at < 3) return { status: 'error', error: 'v2-tlv', message: 'a TLV header is cut short by the end of the PROXY header' };
    const type = header[at] as number;
    const vlen = header.readUInt16BE(at + 1);
    const value = at + 3;
    if (vlen > header.length - value) return { status: 'error', error: 'v2-tlv', message: `TLV 0x${type.toString(16)} of ${vlen} bytes overruns the PROXY header` };
    if (type === PP2_TYPE_CRC32C) {
      if (vlen !== 4) return { status: 'error', error: 'v2-tlv', message: 'a CRC32C TLV must hold 4 bytes' };
      // §2.2.3: the checksum covers the whole header with the checksum field zeroed.
      const copy = Buffer.from(header);
      copy.fill(0, value, value + 4);
      if (crc32c(copy) !== header.readUInt32BE(value)) return { status: 'error', error: 'v2-crc', message: 'the CRC32C of the PROXY header does not match' };
    }
    types.push(type);
    at = value + vlen;
  }
  return { status: 'ok', types };
}

// ---- CRC32C (Castagnoli, RFC 4960 appendix B), reflected polynomial 0x82F63B78 --------------------

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) c = (CRC32C_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- incremental reader --------------------------------------------------------------------------

export type ProxyReadResult =
  | { status: 'incomplete' }
  /** `rest`: bytes received after the header (the protocol's first bytes, e.g. a ClientHello). */
  | { status: 'ok'; header: ProxyHeader; rest: Buffer }
  | { status: 'error'; error: ProxyError; message: string };

/** Accumulates chunks into one fixed buffer (never more than the largest header) and parses as
 *  bytes arrive. After 'ok' or 'error' it must not be pushed to again. */
export class ProxyHeaderReader {
  readonly #buf = Buffer.allocUnsafe(Math.max(PROXY_V1_MAX_BYTES, PROXY_V2_MAX_BYTES));
  #length = 0;
  #done = false;

  push(chunk: Buffer): ProxyReadResult {
    if (this.#done) throw new Error('ProxyHeaderReader: push after the header was complete');
    const room = this.#buf.length - this.#length;
    const copied = Math.min(room, chunk.length);
    chunk.copy(this.#buf, this.#length, 0, copied);
    this.#length += copied;
    const r = parseProxyHeader(this.#buf.subarray(0, this.#length));
    if (r.status === 'incomplete') {
      // Cannot happen (both versions fail before the buffer is full), but never loop on it.
      if (this.#length === this.#buf.length) { this.#done = true; return { status: 'error', error: 'not-proxy', message: 'header larger than any PROXY header' }; }
      return r;
    }
    this.#done = true;
    if (r.status === 'error') return r;
    const rest = Buffer.concat([this.#buf.subarray(r.length, this.#length), chunk.subarray(copied)]);
    return { status: 'ok', header: r.header, rest };
  }
}

/**
 * Reads a PROXY header from a fresh, paused socket, for the mail listeners and the HTTP ones
 * alike. The bytes that came after the header (the protocol's first: a ClientHello, a command,
 * an HTTP request) are put back into the socket, which is paused again; `timeout` when no whole
 * header came within `timeoutMs` (a silent peer must not hold a connection slot).
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyReadResult | { status: 'timeout' } | { status: 'closed' }> {
  return new Promise((resolve) => {
    const reader = new ProxyHeaderReader();
    const done = (r: ProxyReadResult | { status: 'timeout' } | { status: 'closed' }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      socket.pause();
      if (r.status === 'ok' && r.rest.length > 0) socket.unshift(r.rest);
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      const r = reader.push(chunk);
      if (r.status !== 'incomplete') done(r);
    };
    const onClosed = (): void => done({ status: 'closed' });
    const timer = setTimeout(() => done({ status: 'timeout' }), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
    socket.resume();
  });
}
