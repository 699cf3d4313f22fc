/**
 * Domain private keys (T5): generate, import a pasted PEM key, normalise it to PKCS#8 for
 * storage, and the Key Test. Everything an administrator can get wrong is a value, never an
 * exception; generation runs in libuv's thread pool (`crypto.generateKeyPair`), so a 4096-bit RSA
 * key that takes seconds never stalls the event loop that serves mail.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { parsePem } from './pem.js';

export const KEY_KINDS = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

/** Smallest RSA key we accept from a paste: NIST SP 800-131A disallows less than 2048 bits since
 *  2014, and OpenSSL 3 at security level 2 refuses such keys in a handshake anyway. */
export const RSA_MIN_BITS = 2048;

/** Largest RSA key we accept: every full handshake costs one private-key operation, and a 16384-bit
 *  key takes about a second of CPU per signature, turning each connection attempt into a DoS. */
export const RSA_MAX_BITS = 8192;

/** Curves a TLS client can verify a certificate on (RFC 8446 §4.2.3 signature schemes). Others
 *  (secp256k1, brainpool) load in OpenSSL but no mail client negotiates them. */
const TLS_CURVES = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' } as const;
export type EcCurve = (typeof TLS_CURVES)[keyof typeof TLS_CURVES];

/** How often generation progress is reported: often enough that a page shows it is alive. */
export const KEYGEN_PROGRESS_INTERVAL_MS = 250;

export interface KeyInfo {
  type: 'rsa' | 'ec';
  /** Modulus size for RSA; field size for EC (256, 384, 521). */
  bits: number;
  curve?: EcCurve;
  /** For the page: `RSA 2048`, `ECDSA P-256`. */
  description: string;
}

export interface GeneratedKey {
  /** The key as stored: PKCS#8 PEM, unencrypted (the store keeps it in a 0600 file). */
  pkcs8Pem: string;
  info: KeyInfo;
  elapsedMs: number;
}

export interface KeyGenProgress { kind: KeyKind; elapsedMs: number }

/**
 * Makes a new private key off the event loop. `onProgress` is called every
 * `KEYGEN_PROGRESS_INTERVAL_MS` while the thread pool works: RSA prime search has no meaningful
 * percentage, so progress is elapsed time, which is what a page needs to show it is not hung.
 */
export async function generatePrivateKey(kind: KeyKind, opts: { onProgress?: (p: KeyGenProgress) => void; progressIntervalMs?: number } = {}): Promise<GeneratedKey> {
  const started = Date.now();
  const timer = opts.onProgress
    ? setInterval(() => opts.onProgress?.({ kind, elapsedMs: Date.now() - started }), opts.progressIntervalMs ?? KEYGEN_PROGRESS_INTERVAL_MS)
    : undefined;
  try {
    const key = await new Promise<KeyObject>((resolve, reject) => {
      const done = (err: Error | null, _pub: KeyObject, priv: KeyObject): void => { if (err) reject(err); else resolve(priv); };
      switch (kind) {
        case 'rsa-2048': case 'rsa-3072': case 'rsa-4096':
          generateKeyPair('rsa', { modulusLength: Number(kind.slice(4)), publicExponent: 0x10001 }, done);
          break;
        case 'ecdsa-p256': case 'ecdsa-p384':
          generateKeyPair('ec', { namedCurve: kind === 'ecdsa-p256' ? 'prime256v1' : 'secp384r1' }, done);
          break;
      }
    });
    const info = keyInfo(key);
    if (info.status !== 'ok') throw new Error(`generated key is not usable: ${info.message}`); // a bug, not an input
    return { pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }) as string, info: info.info, elapsedMs: Date.now() - started };
  } finally {
    if (timer) clearInterval(timer);
  }
}

export type KeyImportFormat = 'pkcs1' | 'pkcs8' | 'sec1';

export type KeyImportResult =
  | { status: 'ok'; pkcs8Pem: string; info: KeyInfo; format: KeyImportFormat }
  /** Protected by a passphrase: we keep keys unencrypted in 0600 files (a server must start
   *  unattended), so the administrator decrypts it first. */
  | { status: 'encrypted'; message: string }
  /** Not a key at all, or a damaged one. */
  | { status: 'malformed'; message: string }
  /** A real key of a kind TLS clients cannot use with us (Ed25519, DSA, RSA-PSS, odd curves). */
  | { status: 'unsupported'; message: string }
  /** A key too small to be safe, or so large it is a denial of service. */
  | { status: 'weak'; message: string };

const KEY_LABELS: Record<string, KeyImportFormat | 'encrypted'> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
  'PRIVATE KEY': 'pkcs8',
  'ENCRYPTED PRIVATE KEY': 'encrypted',
};

const DECRYPT_HINT = 'remove the passphrase first (for example: openssl pkey -in key.pem -out plain-key.pem) and paste the result';

/**
 * Imports one pasted PEM private key (PKCS#1, PKCS#8 or SEC1) and returns it as PKCS#8 PEM. The
 * key must also pass the Key Test: OpenSSL loads a SEC1 or PKCS#8 key whose stored public half
 * does not belong to its private half (a damaged paste), and such a key would sign handshakes no
 * client can verify.
 */
export async function importPrivateKeyPem(text: string): Promise<KeyImportResult> {
  const r = parsePrivateKeyPem(text);
  if (r.status !== 'ok') return r;
  const t = await keyTest(r.pkcs8Pem);
  if (!t.ok) return { status: 'malformed', message: `the key is damaged: its public half does not match its private half (${t.text})` };
  return r;
}

/** Reads a pasted PEM key without the Key Test (synchronous; for keys already imported once). */
export function parsePrivateKeyPem(text: string): KeyImportResult {
  const parsed = parsePem(text);
  if (parsed.status !== 'ok') return { status: 'malformed', message: `not a PEM key: ${parsed.message}` };
  const keyBlocks = parsed.blocks.filter((b) => b.label in KEY_LABELS);
  if (keyBlocks.length === 0) {
    const labels = parsed.blocks.map((b) => b.label);
    if (labels.includes('CERTIFICATE')) return { status: 'malformed', message: 'this is a certificate, not a private key' };
    if (labels.some((l) => l.endsWith('PUBLIC KEY'))) return { status: 'malformed', message: 'this is a public key; paste the private key' };
    if (labels.length > 0) return { status: 'malformed', message: `no private key found (found: ${labels.join(', ')})` };
    return { status: 'malformed', message: 'no PEM private key found (it starts with -----BEGIN PRIVATE KEY----- or similar)' };
  }
  if (keyBlocks.length > 1) return { status: 'malformed', message: 'more than one private key: paste exactly one' };
  const block = keyBlocks[0];
  if (!block) return { status: 'malformed', message: 'no private key found' };
  const format = KEY_LABELS[block.label];
  // RFC 1421 headers mark OpenSSL's legacy encryption of PKCS#1 and SEC1 keys.
  if (format === 'encrypted' || /ENCRYPTED/i.test(block.headers['proc-type'] ?? '') || block.headers['dek-info'] !== undefined) {
    return { status: 'encrypted', message: `the key is encrypted with a passphrase: ${DECRYPT_HINT}` };
  }
  if (format === undefined) return { status: 'malformed', message: 'no private key found' };
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type: format });
  } catch (e) {
    const what = { pkcs1: 'PKCS#1 RSA', sec1: 'SEC1 EC', pkcs8: 'PKCS#8' }[format];
    return { status: 'malformed', message: `the ${what} private key is damaged or incomplete (${openSslReason(e)})` };
  }
  const info = keyInfo(key);
  if (info.status !== 'ok') return info;
  return { status: 'ok', pkcs8Pem: key.export({ type: 'pkcs8', format: 'pem' }) as string, info: info.info, format };
}

/** Loads a key the layer above stored (PKCS#8 PEM from `importPrivateKeyPem` or
 *  `generatePrivateKey`); a paste goes through `importPrivateKeyPem` first. */
export function loadStoredKey(pkcs8Pem: string): { status: 'ok'; key: KeyObject; info: KeyInfo } | Exclude<KeyImportResult, { status: 'ok' }> {
  const r = parsePrivateKeyPem(pkcs8Pem);
  if (r.status !== 'ok') return r;
  return { status: 'ok', key: createPrivateKey(r.pkcs8Pem), info: r.info };
}

function keyInfo(key: KeyObject): { status: 'ok'; info: KeyInfo } | { status: 'unsupported' | 'weak'; message: string } {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = d.modulusLength ?? 0;
      if (bits < RSA_MIN_BITS) return { status: 'weak', message: `an RSA key of ${bits} bits is too weak: use at least ${RSA_MIN_BITS}` };
      if (bits > RSA_MAX_BITS) return { status: 'weak', message: `an RSA key of ${bits} bits makes every handshake too slow: use at most ${RSA_MAX_BITS}` };
      return { status: 'ok', info: { type: 'rsa', bits, description: `RSA ${bits}` } };
    }
    case 'ec': {
      const curve = TLS_CURVES[(d.namedCurve ?? '') as keyof typeof TLS_CURVES] as EcCurve | undefined;
      if (!curve) return { status: 'unsupported', message: `the EC curve ${d.namedCurve ?? '(unnamed)'} is not one TLS clients use: use P-256 or P-384` };
      return { status: 'ok', info: { type: 'ec', bits: Number(curve.slice(2)), curve, description: `ECDSA ${curve}` } };
    }
    default:
      return { status: 'unsupported', message: `${key.asymmetricKeyType ?? 'this'} keys are not supported for certificates: use RSA or ECDSA` };
  }
}

function openSslReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  // OpenSSL's text is short and has no key material; we cut it so a page shows one line.
  return msg.replace(/\s+/g, ' ').slice(0, 160);
}

export interface KeyTestResult { ok: boolean; text: string }

/**
 * The Key Test: signs a fresh random verification string with the private key and verifies it
 * with the public key derived from it, then checks that a changed string does NOT verify (so a
 * verifier that accepts anything cannot pass). Runs in the thread pool. The result text follows
 * the reference: "Verification String is OK".
 */
export async function keyTest(pkcs8Pem: string): Promise<KeyTestResult> {
  const loaded = loadStoredKey(pkcs8Pem);
  if (loaded.status !== 'ok') return { ok: false, text: `Verification String is NOT OK: ${loaded.message}` };
  const data = Buffer.from(`Mailward key test ${randomBytes(16).toString('hex')}`);
  try {
    const pub = createPublicKey(loaded.key);
    const signature = await new Promise<Buffer>((resolve, reject) => sign('sha256', data, loaded.key, (e, s) => (e ? reject(e) : resolve(s))));
    const good = await new Promise<boolean>((resolve, reject) => verify('sha256', data, pub, signature, (e, r) => (e ? reject(e) : resolve(r))));
    const tampered = Buffer.from(data);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    const bad = await new Promise<boolean>((resolve, reject) => verify('sha256', tampered, pub, signature, (e, r) => (e ? reject(e) : resolve(r))));
    if (good && !bad) return { ok: true, text: 'Verification String is OK' };
    return { ok: false, text: good ? 'Verification String is NOT OK: a changed string also verified' : 'Verification String is NOT OK: the signature does not verify' };
  } catch (e) {
    return { ok: false, text: `Verification String is NOT OK: ${openSslReason(e)}` };
  }
}
