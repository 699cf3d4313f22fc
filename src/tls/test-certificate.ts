/**
 * The Test Certificate (T3), made at every start: subject the main domain name, issuer
 * "Mailward test", valid 30 days from the start time. Domains in mode Test use it, and so does
 * every listener before anything else is configured.
 *
 * Decisions:
 * - ECDSA P-256, not RSA 2048: generating it takes a millisecond instead of 50-500 ms of prime
 *   search on every start (and in every test), handshakes are cheaper, and every TLS 1.2+ client
 *   verifies ECDSA. Its only purpose is testing, so the widest legacy reach of RSA buys nothing.
 * - Issued by a throwaway CA named "Mailward test", not self-signed with that issuer name: a
 *   certificate whose issuer differs from its subject but whose signature is its own key is
 *   malformed (clients look for an issuer "Mailward test" and find nothing that verifies). A real
 *   throwaway CA makes a well-formed chain: the CA certificate is sent along (so scanners see a
 *   complete chain) and a tester can trust it for the 30 days. The CA key exists only inside this
 *   function and is discarded after the one signature, so nothing else can ever be issued by it.
 */
import { generateKeyPairSync, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { toPem } from './pem.js';
import { randomSerialHex } from './certificates.js';
import { normalizeHostname } from './names.js';

export const TEST_CERTIFICATE_VALIDITY_DAYS = 30;
export const TEST_ISSUER_NAME = 'Mailward test';

/** Start the validity a little before the start time: a client whose clock is a few minutes
 *  behind the server would otherwise reject the certificate as "not yet valid" just after start. */
export const TEST_CERTIFICATE_BACKDATE_MS = 5 * 60 * 1000;

export interface TestCertificate {
  mainDomain: string;
  keyPem: string;
  certPem: string;
  /** The throwaway CA's certificate: sent as the chain, and what a tester may choose to trust. */
  chainPem: string;
  validFrom: Date;
  validTill: Date;
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_P256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

async function toWebKeys(priv: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  return {
    privateKey: await webcrypto.subtle.importKey('pkcs8', priv.export({ type: 'pkcs8', format: 'der' }), EC_P256, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', createPublicKey(priv).export({ type: 'spki', format: 'der' }), EC_P256, true, ['verify']),
  };
}

export async function makeTestCertificate(mainDomain: string, start: Date = new Date()): Promise<TestCertificate> {
  // P-256 generation is a scalar multiplication (microseconds): fine on the event loop.
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const caKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const leaf = await toWebKeys(leafKey);
  const ca = await toWebKeys(caKey);
  const startSec = Math.floor(start.getTime() / 1000) * 1000; // X.509 times have whole seconds
  const validFrom = new Date(startSec - TEST_CERTIFICATE_BACKDATE_MS);
  const validTill = new Date(startSec + TEST_CERTIFICATE_VALIDITY_DAYS * 86_400_000);
  const issuer = new x509.Name([{ CN: [{ utf8String: TEST_ISSUER_NAME }] }]);

  const caCert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: issuer,
    issuer,
    notBefore: validFrom,
    notAfter: validTill,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGN_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(ca.publicKey),
    ],
  });

  const host = normalizeHostname(mainDomain);
  const leafCert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name([{ CN: [{ utf8String: mainDomain }] }]),
    issuer: caCert.subjectName,
    notBefore: validFrom,
    notAfter: validTill,
    publicKey: leaf.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: SIGN_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      ...(host ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns' as const, value: host }])] : []),
      await x509.SubjectKeyIdentifierExtension.create(leaf.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.publicKey),
    ],
  });

  return {
    mainDomain,
    keyPem: leafKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    certPem: toPem('CERTIFICATE', new Uint8Array(leafCert.rawData)),
    chainPem: toPem('CERTIFICATE', new Uint8Array(caCert.rawData)),
    validFrom,
    validTill,
  };
}
