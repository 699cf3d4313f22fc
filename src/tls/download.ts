/**
 * Certificate download (T9): what the web user login page links to, so users can install a
 * domain's certificate as trusted (the reference's "Secure Certificate" link). The HTTP layer
 * calls this and writes the result; it chooses the format from the URL or Accept header.
 *
 * Content types: `application/x-x509-ca-cert` with DER is what browsers and operating systems
 * open in their certificate installer (and what the reference served); RFC 8555 §7.4.2 defines
 * `application/pem-certificate-chain` for PEM.
 */
import { parseCertificates } from './certificates.js';
import { toPem } from './pem.js';
import type { DomainTlsConfig } from './context.js';
import type { TestCertificate } from './test-certificate.js';

export type DownloadFormat = 'der' | 'pem';

export interface CertificateDownload {
  contentType: string;
  /** Suggested file name for Content-Disposition: `<domain>.crt` (DER) or `<domain>.pem`. */
  filename: string;
  body: Buffer;
}

export const DOWNLOAD_CONTENT_TYPES: Record<DownloadFormat, string> = {
  der: 'application/x-x509-ca-cert',
  pem: 'application/pem-certificate-chain',
};

/**
 * The certificate a domain presents, for download; null when it presents none (mode No, or Custom
 * without a certificate), in which case the page shows no link. Mode Test offers the Test
 * Certificate. PEM carries the certificate and its CA chain; DER, by its nature, one certificate.
 */
export function certificateDownload(domain: Pick<DomainTlsConfig, 'name' | 'mode' | 'certPem' | 'chainPem'>, format: DownloadFormat, test?: Pick<TestCertificate, 'certPem' | 'chainPem'>): CertificateDownload | null {
  const source = domain.mode === 'custom' ? { cert: domain.certPem, chain: domain.chainPem }
    : domain.mode === 'test' && test ? { cert: test.certPem, chain: test.chainPem }
      : null;
  if (!source?.cert) return null;
  const leaf = parseCertificates(source.cert);
  if (leaf.status !== 'ok' || !leaf.certificates[0]) return null;
  const der = Buffer.from(leaf.certificates[0].rawData);
  // A file name from a domain name: the name is already a host name, but never trust it in a header.
  const base = domain.name.toLowerCase().replace(/[^a-z0-9.-]/g, '_').replace(/^\.+/, '') || 'certificate';
  if (format === 'der') return { contentType: DOWNLOAD_CONTENT_TYPES.der, filename: `${base}.crt`, body: der };
  const chain = source.chain ? parseCertificates(source.chain) : undefined;
  const chainPem = chain?.status === 'ok' ? chain.certificates.map((c) => toPem('CERTIFICATE', new Uint8Array(c.rawData))).join('') : '';
  return { contentType: DOWNLOAD_CONTENT_TYPES.pem, filename: `${base}.pem`, body: Buffer.from(toPem('CERTIFICATE', der) + chainPem) };
}
