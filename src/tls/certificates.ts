/**
 * Domain certificates (T6): the attributes an administrator enters, a self-signed certificate, a
 * PEM signing request for a CA, accepting the certificate the CA sends back, and the description
 * the pages show. All X.509 and PKCS#10 encoding is @peculiar/x509's; signing is WebCrypto's
 * (OpenSSL in the thread pool). Inputs are plain values: the caller reads and writes the store.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { loadStoredKey, type KeyInfo } from './keys.js';
import { parsePem, toPem } from './pem.js';
import { certificateNameCovers, normalizeCertificateName, normalizeHostname } from './names.js';

// RFC 5280 Appendix A.1 upper bounds: a CA refuses a request that exceeds them, so we refuse first.
export const UB_COMMON_NAME = 64;
export const UB_STATE_NAME = 128;
export const UB_LOCALITY_NAME = 128;
export const UB_ORGANIZATION_NAME = 64;
export const UB_ORGANIZATIONAL_UNIT_NAME = 64;
/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets, so 254 for the address. */
export const EMAIL_MAX_LENGTH = 254;

/** Validity of a self-signed certificate: browsers and Apple clients refuse server certificates
 *  valid for more than 398 days; 397 keeps clear of rounding at either end. */
export const SELF_SIGNED_VALIDITY_DAYS = 397;

/** Self-signed certificates start this far in the past, so a client whose clock is a little
 *  behind does not see a certificate that is "not yet valid". */
export const NOT_BEFORE_BACKDATE_MS = 60 * 60 * 1000;

export interface CertificateAttributes {
  commonName: string;
  country?: string;
  province?: string;
  city?: string;
  organization?: string;
  unit?: string;
  /** Required (the reference's only required field besides the name). */
  email: string;
}

/** The names of the domain a certificate is for: its name and its aliases. */
export interface DomainNames { name: string; aliases: readonly string[] }

export type AttributeField = keyof CertificateAttributes;
export interface AttributeProblem { field: AttributeField; message: string }

export type AttributesResult =
  | { status: 'ok'; attributes: CertificateAttributes }
  | { status: 'invalid'; problems: AttributeProblem[] };

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// Local part: RFC 5322 dot-atom (quoted local parts are legal but no CA accepts them in a request).
const EMAIL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([^@]+)$/;

/**
 * Checks and normalises what the administrator entered. The Common Name must be the domain's
 * name or one of its aliases (clients compare it with the name they connected to); Country is an
 * ISO 3166 two-letter code; the e-mail is required and must be an address; the other fields are
 * optional, without control characters, within the RFC 5280 length bounds.
 */
export function validateAttributes(input: CertificateAttributes, domain: DomainNames): AttributesResult {
  const problems: AttributeProblem[] = [];
  const out: CertificateAttributes = { commonName: '', email: '' };

  const cn = normalizeHostname(String(input.commonName ?? '').trim());
  const allowed = [domain.name, ...domain.aliases].map((n) => normalizeHostname(n)).filter((n): n is string => n !== null);
  if (cn === null) problems.push({ field: 'commonName', message: 'the Common Name must be a host name' });
  else if (!allowed.includes(cn)) problems.push({ field: 'commonName', message: `the Common Name must be the domain name or one of its aliases (${allowed.join(', ')})` });
  else if (cn.length > UB_COMMON_NAME) problems.push({ field: 'commonName', message: `a Common Name has at most ${UB_COMMON_NAME} characters (RFC 5280); pick a shorter alias` });
  else out.commonName = cn;

  const country = String(input.country ?? '').trim().toUpperCase();
  if (country !== '') {
    if (!/^[A-Z]{2}$/.test(country)) problems.push({ field: 'country', message: 'the Country is a two-letter ISO 3166 code, such as US or DE' });
    else if (country === 'UK') problems.push({ field: 'country', message: 'the ISO 3166 code of the United Kingdom is GB' });
    else if (regionNames.of(country) === country || country === 'ZZ') problems.push({ field: 'country', message: `${country} is not an ISO 3166 country code` });
    else out.country = country;
  }

  const text = (field: 'province' | 'city' | 'organization' | 'unit', label: string, max: number): void => {
    const v = String(input[field] ?? '').trim();
    if (v === '') return;
    if (CONTROL.test(v)) problems.push({ field, message: `the ${label} contains control characters` });
    else if ([...v].length > max) problems.push({ field, message: `the ${label} has at most ${max} characters (RFC 5280)` });
    else out[field] = v.normalize('NFC');
  };
  text('province', 'Province/State', UB_STATE_NAME);
  text('city', 'City/Town', UB_LOCALITY_NAME);
  text('organization', 'Organization', UB_ORGANIZATION_NAME);
  text('unit', 'Organization Unit', UB_ORGANIZATIONAL_UNIT_NAME);

  const email = String(input.email ?? '').trim();
  const m = EMAIL.exec(email);
  if (email === '') problems.push({ field: 'email', message: 'the Contact E-mail is required' });
  else if (email.length > EMAIL_MAX_LENGTH) problems.push({ field: 'email', message: `an e-mail address has at most ${EMAIL_MAX_LENGTH} characters` });
  // The e-mail goes into an IA5String (PKCS#9), which is ASCII only.
  else if (!m || normalizeHostname(m[1] ?? '') === null || !/^[\x21-\x7e]+$/.test(m[1] ?? '')) problems.push({ field: 'email', message: 'the Contact E-mail must be an address such as postmaster@example.com' });
  else out.email = email;

  return problems.length > 0 ? { status: 'invalid', problems } : { status: 'ok', attributes: out };
}

/** The subject name in the usual order (country first), with the string types RFC 5280 asks:
 *  PrintableString for the country, IA5String for the e-mail, UTF8String for the rest. */
function subjectName(a: CertificateAttributes): x509.Name {
  const rdns: Array<Record<string, Array<Record<string, string>>>> = [];
  if (a.country) rdns.push({ C: [{ printableString: a.country }] });
  if (a.province) rdns.push({ ST: [{ utf8String: a.province }] });
  if (a.city) rdns.push({ L: [{ utf8String: a.city }] });
  if (a.organization) rdns.push({ O: [{ utf8String: a.organization }] });
  if (a.unit) rdns.push({ OU: [{ utf8String: a.unit }] });
  rdns.push({ CN: [{ utf8String: a.commonName }] });
  rdns.push({ E: [{ ia5String: a.email }] });
  return new x509.Name(rdns);
}

interface WebKeys {
  keys: CryptoKeyPair;
  algorithm: RsaHashedImportParams | EcKeyImportParams;
  signing: Algorithm | EcdsaParams;
  info: KeyInfo;
  privateKey: KeyObject;
}

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

export type KeyProblem = { status: 'bad-key'; message: string };

/** Imports a stored key into WebCrypto with the signature algorithm TLS expects for it:
 *  RSA PKCS#1 v1.5 with SHA-256 (universally verifiable); ECDSA with the curve's own hash. */
export async function webCryptoKeys(pkcs8Pem: string): Promise<WebKeys | KeyProblem> {
  const loaded = loadStoredKey(pkcs8Pem);
  if (loaded.status !== 'ok') return { status: 'bad-key', message: loaded.message };
  const { key, info } = loaded;
  let algorithm: RsaHashedImportParams | EcKeyImportParams;
  let signing: Algorithm | EcdsaParams;
  if (info.type === 'rsa') {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    signing = algorithm;
  } else {
    const hash = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }[info.curve ?? 'P-256'];
    algorithm = { name: 'ECDSA', namedCurve: info.curve ?? 'P-256' };
    signing = { name: 'ECDSA', hash } as EcdsaParams;
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']);
  return { keys: { privateKey, publicKey }, algorithm, signing, info, privateKey: key };
}

/** A positive 128-bit serial: RFC 5280 §4.1.2.2 wants it unique and at most 20 octets; CA/B
 *  Forum asks for 64 random bits; a random one also makes each self-signed certificate distinct. */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01; // positive, and no leading zero octet to strip
  return b.toString('hex');
}

function serverExtensions(info: KeyInfo, dnsNames: string[]): x509.Extension[] {
  // RSA key exchange is gone in TLS 1.3 and not in our TLS 1.2 cipher list, but keyEncipherment
  // keeps RSA certificates valid for clients that check it.
  const usage = info.type === 'rsa'
    ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
    : x509.KeyUsageFlags.digitalSignature;
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    // Clients match names against the SAN only (RFC 6125 §6.4.4); the CN alone is ignored.
    new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value }))),
  ];
}

export type GenerateResult =
  | { status: 'ok'; pem: string }
  | { status: 'invalid'; problems: AttributeProblem[] }
  | KeyProblem;

/**
 * A self-signed certificate for the domain key: issuer = subject = the attributes entered, the
 * Common Name as its one dNSName, serverAuth, valid `SELF_SIGNED_VALIDITY_DAYS`.
 */
export async function generateSelfSigned(keyPem: string, attributes: CertificateAttributes, domain: DomainNames, opts: { now?: Date; validityDays?: number } = {}): Promise<GenerateResult> {
  const checked = validateAttributes(attributes, domain);
  if (checked.status !== 'ok') return checked;
  const keys = await webCryptoKeys(keyPem);
  if ('status' in keys) return keys;
  const now = opts.now ?? new Date();
  const name = subjectName(checked.attributes);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: name,
    issuer: name,
    notBefore: new Date(now.getTime() - NOT_BEFORE_BACKDATE_MS),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? SELF_SIGNED_VALIDITY_DAYS) * 86_400_000),
    publicKey: keys.keys.publicKey,
    signingKey: keys.keys.privateKey,
    signingAlgorithm: keys.signing,
    extensions: [
      ...serverExtensions(keys.info, [checked.attributes.commonName]),
      await x509.SubjectKeyIdentifierExtension.create(keys.keys.publicKey),
    ],
  });
  return { status: 'ok', pem: toPem('CERTIFICATE', new Uint8Array(cert.rawData)) };
}

/**
 * A PKCS#10 signing request (PEM) with the attributes entered and an extension request for the
 * Common Name as dNSName and for serverAuth, which is what CAs issue server certificates from.
 */
export async function generateSigningRequest(keyPem: string, attributes: CertificateAttributes, domain: DomainNames): Promise<GenerateResult> {
  const checked = validateAttributes(attributes, domain);
  if (checked.status !== 'ok') return checked;
  const keys = await webCryptoKeys(keyPem);
  if ('status' in keys) return keys;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(checked.attributes),
    keys: keys.keys,
    signingAlgorithm: keys.signing,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: checked.attributes.commonName }]),
    ],
  });
  return { status: 'ok', pem: toPem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData)) };
}

// ---------------------------------------------------------------------------------------------
// Describing and accepting certificates

export interface NameAttribute {
  /** The reference's labels: Country, Province, City, Organization, Unit, Common Name, Contact;
   *  other attributes keep their short name or OID. */
  label: string;
  oid: string;
  value: string;
}

export interface CertificateDescription {
  issuedTo: NameAttribute[];
  issuedBy: NameAttribute[];
  /** RFC 4514 strings, for logs and comparisons. */
  subject: string;
  issuer: string;
  validFrom: Date;
  validTill: Date;
  serialNumber: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as browsers show it). */
  fingerprintSha256: string;
  /** The DNS names the certificate covers (SAN dNSNames, or the Common Name when it has none). */
  dnsNames: string[];
  /** `RSA 2048`, `ECDSA P-256`... */
  publicKey: string;
  selfIssued: boolean;
  isCa: boolean;
}

const LABELS: Record<string, string> = {
  '2.5.4.6': 'Country', '2.5.4.8': 'Province', '2.5.4.7': 'City', '2.5.4.10': 'Organization',
  '2.5.4.11': 'Unit', '2.5.4.3': 'Common Name', '1.2.840.113549.1.9.1': 'Contact',
  '2.5.4.5': 'Serial Number', '2.5.4.9': 'Street', '2.5.4.17': 'Postal Code', '0.9.2342.19200300.100.1.25': 'Domain Component',
};

function nameAttributes(name: x509.Name): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const rdn of name.toJSON()) {
    for (const [type, values] of Object.entries(rdn)) {
      const oid = oidOf(type);
      for (const value of values) out.push({ label: LABELS[oid] ?? type, oid, value });
    }
  }
  return out;
}

const SHORT_TO_OID: Record<string, string> = {
  CN: '2.5.4.3', L: '2.5.4.7', ST: '2.5.4.8', O: '2.5.4.10', OU: '2.5.4.11', C: '2.5.4.6',
  DC: '0.9.2342.19200300.100.1.25', E: '1.2.840.113549.1.9.1', G: '2.5.4.42', I: '2.5.4.43', SN: '2.5.4.4', T: '2.5.4.12',
};
function oidOf(type: string): string { return SHORT_TO_OID[type] ?? type; }

/** The DNS names a certificate covers, normalised (wildcards keep `*.`). */
export function certificateDnsNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const fromSan = san ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value) : [];
  const raw = fromSan.length > 0 ? fromSan : cert.subjectName.getField('CN');
  return raw.map((n) => normalizeCertificateName(n)).filter((n): n is string => n !== null);
}

function publicKeyText(der: Buffer): string {
  try {
    const k = createPublicKey({ key: der, format: 'der', type: 'spki' });
    const d = k.asymmetricKeyDetails ?? {};
    if (k.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength ?? '?'}`;
    if (k.asymmetricKeyType === 'ec') return `ECDSA ${({ prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' } as Record<string, string>)[d.namedCurve ?? ''] ?? d.namedCurve ?? ''}`;
    return k.asymmetricKeyType ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function colonHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Describes a parsed certificate (the panel of the reference: Issued to, Issued by, Valid). */
export function describe(cert: x509.X509Certificate): CertificateDescription {
  const der = Buffer.from(cert.rawData);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  return {
    issuedTo: nameAttributes(cert.subjectName),
    issuedBy: nameAttributes(cert.issuerName),
    subject: cert.subject,
    issuer: cert.issuer,
    validFrom: cert.notBefore,
    validTill: cert.notAfter,
    serialNumber: cert.serialNumber,
    fingerprintSha256: colonHex(createHash('sha256').update(der).digest()),
    dnsNames: certificateDnsNames(cert),
    publicKey: publicKeyText(Buffer.from(cert.publicKey.rawData)),
    selfIssued: Buffer.from(cert.subjectName.toArrayBuffer()).equals(Buffer.from(cert.issuerName.toArrayBuffer())),
    isCa: bc?.ca === true,
  };
}

export type ParsedCertificates =
  | { status: 'ok'; certificates: x509.X509Certificate[] }
  | { status: 'malformed'; message: string; index?: number };

/** Parses every CERTIFICATE block of a paste. Each must decode; other blocks are an error so that
 *  a pasted key never ends up stored as a "certificate". */
export function parseCertificates(text: string): ParsedCertificates {
  const parsed = parsePem(text);
  if (parsed.status !== 'ok') return { status: 'malformed', message: parsed.message };
  const other = parsed.blocks.find((b) => b.label !== 'CERTIFICATE' && b.label !== 'X509 CERTIFICATE' && b.label !== 'TRUSTED CERTIFICATE');
  if (other) return { status: 'malformed', message: other.label.includes('PRIVATE KEY') ? 'a private key was pasted where a certificate belongs' : `a "${other.label}" block is not a certificate` };
  const certificates: x509.X509Certificate[] = [];
  for (const [index, block] of parsed.blocks.entries()) {
    const c = decodeCertificate(block.der);
    if (c === null) return { status: 'malformed', index, message: `certificate ${index + 1} cannot be decoded (damaged or not X.509)` };
    certificates.push(c);
  }
  return { status: 'ok', certificates };
}

/** Decodes one DER certificate; both @peculiar/x509 and OpenSSL must accept it, because OpenSSL is
 *  what will send it in handshakes and a certificate only one of them reads would fail later. */
export function decodeCertificate(der: Uint8Array): x509.X509Certificate | null {
  try {
    const c = new x509.X509Certificate(new Uint8Array(der));
    // @peculiar/x509 decodes names, extensions and the key lazily, on first access: touch them
    // all here so a damaged extension is found now, not as an exception in a later page view.
    void [c.subjectName.toJSON(), c.issuerName.toJSON(), c.publicKey.algorithm, c.signatureAlgorithm, c.notBefore, c.notAfter, c.serialNumber];
    for (const e of c.extensions) void e.type;
    const san = c.getExtension(x509.SubjectAlternativeNameExtension);
    if (san) void san.names.items.map((n) => n.value);
    new NodeX509(Buffer.from(der));
    return c;
  } catch {
    return null;
  }
}

export type CertificateWarning =
  | { kind: 'expired'; message: string }
  | { kind: 'not-yet-valid'; message: string }
  | { kind: 'name-mismatch'; message: string }
  | { kind: 'not-for-servers'; message: string }
  | { kind: 'ca-certificate'; message: string };

export type AcceptResult =
  | { status: 'ok'; pem: string; description: CertificateDescription; warnings: CertificateWarning[] }
  | { status: 'refused'; reason: 'malformed' | 'none' | 'several' | 'key-mismatch' | 'bad-key'; message: string };

/**
 * Accepts the signed certificate pasted back from a CA. Refused unless exactly one certificate
 * parses and its public key is the domain key's; warnings (not refusals) for dates and names,
 * because an administrator may well install a certificate a day before it starts.
 */
export function acceptCertificate(text: string, keyPem: string, domain: DomainNames, opts: { now?: Date } = {}): AcceptResult {
  const loaded = loadStoredKey(keyPem);
  if (loaded.status !== 'ok') return { status: 'refused', reason: 'bad-key', message: `the domain key cannot be used: ${loaded.message}` };
  const parsed = parseCertificates(text);
  if (parsed.status !== 'ok') return { status: 'refused', reason: 'malformed', message: parsed.message };
  if (parsed.certificates.length === 0) return { status: 'refused', reason: 'none', message: 'no PEM certificate found (it starts with -----BEGIN CERTIFICATE-----)' };
  if (parsed.certificates.length > 1) return { status: 'refused', reason: 'several', message: 'paste only the domain certificate here; the certificates of the CA go into the CA chain' };
  const cert = parsed.certificates[0] as x509.X509Certificate;
  if (!keyMatches(cert, loaded.key)) {
    return { status: 'refused', reason: 'key-mismatch', message: 'the certificate was not issued for this domain\'s private key' };
  }
  const description = describe(cert);
  return { status: 'ok', pem: toPem('CERTIFICATE', new Uint8Array(cert.rawData)), description, warnings: certificateWarnings(cert, description, domain, opts.now ?? new Date()) };
}

/** Whether the certificate's public key is the public half of the private key. Compared as keys
 *  (OpenSSL's EVP_PKEY_eq), not as bytes: an EC point may be encoded compressed or not. */
export function keyMatches(cert: x509.X509Certificate, privateKey: KeyObject): boolean {
  try {
    const certKey = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
    return certKey.equals(createPublicKey(privateKey));
  } catch {
    return false;
  }
}

export function certificateWarnings(cert: x509.X509Certificate, d: CertificateDescription, domain: DomainNames, now: Date): CertificateWarning[] {
  const w: CertificateWarning[] = [];
  if (now.getTime() > d.validTill.getTime()) w.push({ kind: 'expired', message: `the certificate expired on ${d.validTill.toISOString()}` });
  if (now.getTime() < d.validFrom.getTime()) w.push({ kind: 'not-yet-valid', message: `the certificate is not valid before ${d.validFrom.toISOString()}` });
  const names = [domain.name, ...domain.aliases].map((n) => normalizeHostname(n)).filter((n): n is string => n !== null);
  if (!names.some((host) => d.dnsNames.some((c) => certificateNameCovers(c, host)))) {
    w.push({ kind: 'name-mismatch', message: `the certificate names ${d.dnsNames.join(', ') || 'no host'}, not ${names.join(' or ')}: clients will warn about the name` });
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku && !eku.usages.map(String).includes(x509.ExtendedKeyUsage.serverAuth) && !eku.usages.map(String).includes('2.5.29.37.0')) {
    w.push({ kind: 'not-for-servers', message: 'the certificate is not issued for TLS servers (no serverAuth usage): clients will refuse it' });
  }
  if (d.isCa) w.push({ kind: 'ca-certificate', message: 'this is a CA certificate: clients may refuse it as a server certificate' });
  return w;
}

/** Describes a stored PEM certificate, or null when the text holds no decodable certificate. */
export function describeCertificatePem(pem: string): CertificateDescription | null {
  const parsed = parseCertificates(pem);
  if (parsed.status !== 'ok' || parsed.certificates.length === 0) return null;
  return describe(parsed.certificates[0] as x509.X509Certificate);
}

/** The public half of a stored private key as a PEM SPKI (for pages that show it). */
export function publicKeyPem(keyPem: string): string | null {
  const loaded = loadStoredKey(keyPem);
  if (loaded.status !== 'ok') return null;
  return createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }) as string;
}
