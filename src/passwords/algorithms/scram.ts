/**
 * SCRAM key derivation (RFC 5802 section 3; RFC 7677 for SHA-256):
 *   SaltedPassword = Hi(Normalize(password), salt, i)   (PBKDF2 with HMAC-H)
 *   StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key")
 * PBKDF2 runs on libuv's thread pool (crypto.pbkdf2), never on the event loop.
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { saslPrep } from './saslprep.js';
import { utf8OrNull } from '../encoding.js';
import type { ScramAlgorithm } from '../types.js';

export interface ScramKeys { storedKey: Buffer; serverKey: Buffer }

export function scramHashName(alg: ScramAlgorithm): 'sha1' | 'sha256' {
  return alg === 'SHA-1' ? 'sha1' : 'sha256';
}

export function scramHashLength(alg: ScramAlgorithm): number {
  return alg === 'SHA-1' ? 20 : 32;
}

/** Normalize(password) as bytes, or null when the password is not UTF-8 or SASLprep refuses it. */
export function scramNormalize(password: Uint8Array): Buffer | null {
  const text = utf8OrNull(password);
  if (text === null) return null;
  const prepped = saslPrep(text, 'stored');
  return prepped === null ? null : Buffer.from(prepped, 'utf8');
}

function pbkdf2Async(pw: Buffer, salt: Buffer, iterations: number, len: number, digest: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(pw, salt, iterations, len, digest, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** StoredKey and ServerKey for an already normalized password. */
export async function scramKeys(alg: ScramAlgorithm, normalized: Buffer, salt: Buffer, iterations: number): Promise<ScramKeys> {
  const h = scramHashName(alg);
  const salted = await pbkdf2Async(normalized, salt, iterations, scramHashLength(alg), h);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  return {
    storedKey: createHash(h).update(clientKey).digest(),
    serverKey: createHmac(h, salted).update('Server Key').digest(),
  };
}
