/**
 * Protocol versions and ciphers. Default: TLS 1.2 and newer; for TLS 1.2 only ECDHE key exchange
 * (forward secrecy) with AEAD ciphers (GCM, ChaCha20-Poly1305) - no CBC (Lucky13, POODLE-style
 * padding oracles), no static RSA key exchange (no forward secrecy, ROBOT), no SHA-1 MACs. This is
 * Mozilla's "intermediate" profile, which every mail client of the last decade speaks. Both the
 * minimum version and the cipher list can be set; a setting OpenSSL cannot use is refused with
 * OpenSSL's reason instead of being found out by the first client.
 */
import { createSecureContext } from 'node:tls';

export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export const DEFAULT_MIN_VERSION: TlsVersion = 'TLSv1.2';

/** TLS 1.3 suites (all AEAD) first, then the TLS 1.2 ECDHE+AEAD suites, ECDSA before RSA. */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Key-exchange groups: X25519 first (fast, constant time), then the NIST curves clients that
 *  lack it offer. No finite-field DH: no DHE suites in the list, so no weak-prime risk (Logjam). */
export const DEFAULT_ECDH_CURVES = 'X25519:P-256:P-384';

export interface TlsPolicy {
  minVersion: TlsVersion;
  /** OpenSSL cipher string; names starting with `TLS_` are TLS 1.3 suites (Node splits them). */
  ciphers: string;
  ecdhCurve: string;
}

export const DEFAULT_POLICY: Readonly<TlsPolicy> = Object.freeze({
  minVersion: DEFAULT_MIN_VERSION,
  ciphers: DEFAULT_CIPHERS,
  ecdhCurve: DEFAULT_ECDH_CURVES,
});

export type PolicyResult = { status: 'ok'; policy: TlsPolicy } | { status: 'invalid'; problems: string[] };

/** Longest cipher or curve string we pass to OpenSSL: the full cipher list is under 2 KiB. */
export const POLICY_STRING_MAX = 4096;

/** Completes a partial policy with the defaults and checks that OpenSSL can build a context from
 *  it. Never throws. */
export function checkPolicy(input: Partial<TlsPolicy> = {}): PolicyResult {
  const policy: TlsPolicy = { ...DEFAULT_POLICY, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  const problems: string[] = [];
  if (!(TLS_VERSIONS as readonly string[]).includes(policy.minVersion)) problems.push(`the minimum version must be one of ${TLS_VERSIONS.join(', ')}`);
  for (const f of ['ciphers', 'ecdhCurve'] as const) {
    const v = policy[f];
    if (typeof v !== 'string' || v.trim() === '' || v.length > POLICY_STRING_MAX || /[\s\u0000-\u001f]/.test(v)) problems.push(`${f} must be a non-empty OpenSSL list without spaces`);
  }
  if (problems.length > 0) return { status: 'invalid', problems };
  try {
    createSecureContext({ minVersion: policy.minVersion, ciphers: policy.ciphers, ecdhCurve: policy.ecdhCurve });
  } catch (e) {
    return { status: 'invalid', problems: [`OpenSSL refuses the settings: ${e instanceof Error ? e.message : String(e)}`] };
  }
  const tls13 = policy.ciphers.split(':').some((c) => c.startsWith('TLS_'));
  const tls12 = policy.ciphers.split(':').some((c) => c !== '' && !c.startsWith('TLS_'));
  if (!tls12 && policy.minVersion !== 'TLSv1.3') problems.push('the cipher list has no TLS 1.2 cipher: set the minimum version to TLSv1.3 or add TLS 1.2 ciphers');
  if (!tls13 && !tls12) problems.push('the cipher list is empty');
  return problems.length > 0 ? { status: 'invalid', problems } : { status: 'ok', policy };
}
