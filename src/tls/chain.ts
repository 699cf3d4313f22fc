/**
 * CA chains (T7): several PEM certificates pasted in order, the issuer of the domain certificate
 * first and the root last. Each must parse (a chain we cannot send whole is refused). Going beyond
 * the reference, which checks only the format, we check every link - the issuer name matches the
 * subject of the next certificate and its signature verifies with that key - and WARN, without
 * refusing, when a link is missing: administrators often paste a chain before the certificate it
 * belongs to, or a bundle whose order their CA documents badly; a warning lets them fix it.
 */
import { X509Certificate as NodeX509 } from 'node:crypto';
import { x509 } from './x509.js';
import { describe, parseCertificates, type NameAttribute } from './certificates.js';
import { toPem } from './pem.js';

export interface ChainRow {
  issuedTo: NameAttribute[];
  issuedBy: NameAttribute[];
  validFrom: Date;
  validTill: Date;
  subject: string;
  issuer: string;
  fingerprintSha256: string;
}

export type ChainWarning =
  /** `index` certifies nothing before it: the certificate before it (or the domain certificate,
   *  for index 0) names another issuer, or its signature does not verify with this key. */
  | { kind: 'missing-link'; index: number; message: string }
  | { kind: 'expired'; index: number; message: string }
  | { kind: 'not-yet-valid'; index: number; message: string }
  /** A certificate that is not a CA cannot certify anything. */
  | { kind: 'not-a-ca'; index: number; message: string }
  /** The domain certificate itself was pasted into the chain (a "full chain" bundle). */
  | { kind: 'contains-domain-certificate'; index: number; message: string };

export type ChainResult =
  | { status: 'ok'; pem: string; rows: ChainRow[]; warnings: ChainWarning[] }
  | { status: 'refused'; message: string; index?: number };

/**
 * Checks a pasted chain. `certificatePem` (the domain certificate, when there is one) lets the
 * first link be checked too. The returned `pem` is the normalised chain to store and send.
 */
export function checkChain(text: string, opts: { certificatePem?: string; now?: Date } = {}): ChainResult {
  const parsed = parseCertificates(text);
  if (parsed.status !== 'ok') return { status: 'refused', message: parsed.message, ...(parsed.index !== undefined ? { index: parsed.index } : {}) };
  if (parsed.certificates.length === 0) return { status: 'refused', message: 'no PEM certificate found (each starts with -----BEGIN CERTIFICATE-----)' };
  const certs = parsed.certificates;
  const now = (opts.now ?? new Date()).getTime();
  const warnings: ChainWarning[] = [];

  let leaf: x509.X509Certificate | undefined;
  if (opts.certificatePem) {
    const l = parseCertificates(opts.certificatePem);
    if (l.status === 'ok') leaf = l.certificates[0];
  }
  const node = certs.map((c) => new NodeX509(Buffer.from(c.rawData)));
  const leafNode = leaf ? new NodeX509(Buffer.from(leaf.rawData)) : undefined;

  for (const [i, cert] of certs.entries()) {
    const n = node[i] as NodeX509;
    const name = cert.subject;
    if (leafNode && n.fingerprint256 === leafNode.fingerprint256) {
      warnings.push({ kind: 'contains-domain-certificate', index: i, message: `certificate ${i + 1} is the domain certificate itself: the chain holds only the CA certificates` });
      continue;
    }
    const prev = i === 0 ? leafNode : node[i - 1];
    const prevName = i === 0 ? 'the domain certificate' : `certificate ${i} (${certs[i - 1]?.subject ?? ''})`;
    if (prev && !certifies(n, prev)) {
      warnings.push({ kind: 'missing-link', index: i, message: `certificate ${i + 1} (${name}) does not certify ${prevName}: a certificate is missing or the order is wrong` });
    }
    if (now > cert.notAfter.getTime()) warnings.push({ kind: 'expired', index: i, message: `certificate ${i + 1} (${name}) expired on ${cert.notAfter.toISOString()}` });
    if (now < cert.notBefore.getTime()) warnings.push({ kind: 'not-yet-valid', index: i, message: `certificate ${i + 1} (${name}) is not valid before ${cert.notBefore.toISOString()}` });
    if (!n.ca) warnings.push({ kind: 'not-a-ca', index: i, message: `certificate ${i + 1} (${name}) is not a CA certificate and cannot certify another` });
  }
  return {
    status: 'ok',
    pem: certs.map((c) => toPem('CERTIFICATE', new Uint8Array(c.rawData))).join(''),
    rows: certs.map(chainRow),
    warnings,
  };
}

/** Whether `issuer` certifies `subject`: OpenSSL's X509_check_issued (names, key identifiers,
 *  key usage) and then the signature itself. A name match alone proves nothing. */
function certifies(issuer: NodeX509, subject: NodeX509): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function chainRow(cert: x509.X509Certificate): ChainRow {
  const d = describe(cert);
  return { issuedTo: d.issuedTo, issuedBy: d.issuedBy, validFrom: d.validFrom, validTill: d.validTill, subject: d.subject, issuer: d.issuer, fingerprintSha256: d.fingerprintSha256 };
}

/** The table of a stored chain (rows: issued to, issued by, valid from, valid till); empty when
 *  nothing is stored or it no longer parses. */
export function describeChain(pem: string | undefined): ChainRow[] {
  if (!pem) return [];
  const parsed = parseCertificates(pem);
  return parsed.status === 'ok' ? parsed.certificates.map(chainRow) : [];
}
