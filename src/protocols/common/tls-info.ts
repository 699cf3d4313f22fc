/**
 * What a session learns about its TLS link: protocol, cipher, SNI, resumption, and the channel
 * bindings SCRAM-PLUS binds the authentication to (RFC 5802 §6), so that a man in the middle
 * who terminates TLS cannot relay a SCRAM exchange.
 *
 * - tls-exporter (RFC 9266): TLS 1.3 only. RFC 9266 defines it for TLS 1.2 only with the
 *   extended master secret, which Node does not let us confirm, so it is not offered there.
 * - tls-unique (RFC 5929 §3): TLS 1.2 and below only (RFC 9266 §1: undefined for TLS 1.3). It is
 *   the first Finished message of the latest handshake: on a full handshake the client's (for us
 *   the peer's), on an abbreviated (resumed) one the server's (our own).
 * - tls-server-end-point (RFC 5929 §4.1): the hash of our certificate, with the hash function of
 *   its signature algorithm, except that MD5 and SHA-1 are replaced by SHA-256. Undefined for a
 *   signature without exactly one hash (Ed25519, Ed448): then it is not offered.
 */
import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { ChannelBindingType } from '../../sasl/mechanism.js';
import { x509 } from '../../tls/x509.js';
import type { TlsInfo } from './session.js';

/** RFC 9266 §2: 32 bytes of exporter output, label "EXPORTER-Channel-Binding", empty context. */
export const TLS_EXPORTER_LABEL = 'EXPORTER-Channel-Binding';
export const TLS_EXPORTER_LENGTH = 32;

/** Certificates whose end-point hash was computed, by their DER: a server has a handful of
 *  certificates, so parsing each once is enough. Bounded so a stream of certificate changes
 *  cannot grow it without limit. */
const END_POINT_CACHE_MAX = 256;
const endPointCache = new Map<string, Buffer | null>();

const HASH_FOR_SIGNATURE: Record<string, string> = {
  // RFC 5929 §4.1: "if the certificate's signatureAlgorithm uses a single hash function, and that
  // hash function is either MD5 or SHA-1, then use SHA-256".
  'MD5': 'sha256',
  'SHA-1': 'sha256',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

/** The tls-server-end-point value for a DER certificate, or null when RFC 5929 leaves it
 *  undefined (no single hash in the signature algorithm) or the certificate cannot be read. */
export function serverEndPoint(der: Buffer): Buffer | null {
  const key = createHash('sha256').update(der).digest('hex');
  const hit = endPointCache.get(key);
  if (hit !== undefined) return hit;
  let value: Buffer | null = null;
  try {
    const cert = new x509.X509Certificate(new Uint8Array(der));
    const alg = cert.signatureAlgorithm as { hash?: { name?: string } };
    const hash = alg.hash?.name ? HASH_FOR_SIGNATURE[alg.hash.name.toUpperCase()] : undefined;
    if (hash) value = createHash(hash).update(der).digest();
  } catch {
    value = null;
  }
  if (endPointCache.size >= END_POINT_CACHE_MAX) endPointCache.clear();
  endPointCache.set(key, value);
  return value;
}

/** End-point values by the certificate Buffer the resolver hands out (one per secure context),
 *  so a connection costs a lookup, not a hash of the certificate. */
const endPointByBuffer = new WeakMap<Buffer, Buffer | null>();

function endPointOf(der: Buffer): Buffer | null {
  let v = endPointByBuffer.get(der);
  if (v === undefined) {
    v = serverEndPoint(der);
    endPointByBuffer.set(der, v);
  }
  return v;
}

/**
 * The channel bindings a server-side TLS socket offers, per the rules above. tls-exporter and
 * tls-unique are read from OpenSSL only when asked for (a SCRAM-PLUS exchange): most connections
 * never use them, and exporting keying material is a key derivation per connection. Which of them
 * exist is known from the protocol alone, so the keys are there from the start (advertising
 * -PLUS looks at the keys). `certificateDer` is the served certificate as the resolver knows it
 * (context.ts); without it the socket is asked.
 */
export function channelBindings(socket: TLSSocket, certificateDer?: Buffer): Partial<Record<ChannelBindingType, Buffer>> {
  const out: Partial<Record<ChannelBindingType, Buffer>> = {};
  const protocol = socket.getProtocol();
  if (protocol === 'TLSv1.3') {
    lazy(out, 'tls-exporter', () => socket.exportKeyingMaterial(TLS_EXPORTER_LENGTH, TLS_EXPORTER_LABEL, Buffer.alloc(0)));
  } else if (protocol !== null) {
    // A finished handshake always has both Finished messages; copied when asked for.
    lazy(out, 'tls-unique', () => Buffer.from((socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished()) ?? Buffer.alloc(0)));
  }
  const der = certificateDer ?? socket.getX509Certificate()?.raw;
  const ep = der ? endPointOf(der) : null;
  if (ep) out['tls-server-end-point'] = ep;
  return out;
}

/** Defines `key` as an enumerable property computed on first read and kept. If the socket is
 *  gone by then, the value is empty: a channel binding that cannot match, so the exchange fails
 *  (RFC 5802 §6 asks for failure when the bindings differ). */
function lazy(out: Partial<Record<ChannelBindingType, Buffer>>, key: ChannelBindingType, compute: () => Buffer): void {
  let value: Buffer | undefined;
  Object.defineProperty(out, key, {
    enumerable: true,
    configurable: false,
    get: (): Buffer => {
      if (value === undefined) {
        try { value = compute(); } catch { value = Buffer.alloc(0); }
      }
      return value;
    },
  });
}

/** The TlsInfo of a socket whose handshake the resolver has just completed. */
export function tlsInfo(socket: TLSSocket, accepted: { protocol: string; cipher: string; servername?: string; domain: string; resumed: boolean; certificateDer?: Buffer }): TlsInfo {
  return {
    protocol: accepted.protocol,
    cipher: accepted.cipher,
    ...(accepted.servername !== undefined ? { servername: accepted.servername } : {}),
    domain: accepted.domain,
    resumed: accepted.resumed,
    channelBindings: channelBindings(socket, accepted.certificateDer),
  };
}
