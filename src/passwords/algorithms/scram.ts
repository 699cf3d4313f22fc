/**
 * SCRAM key derivation (RFC 5802 section 3; RFC 7677 for SHA-256), the one implementation of the
 * project: stored keys made here for new passwords, keys computed from clear passwords for the
 * SCRAM mechanism, and the SCRAM client in src/sasl all come from these functions.
 *   SaltedPassword = Hi(Normalize(password), salt, i)   (PBKDF2 with HMAC-H, dkLen = hash length)
 *   ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey = H(ClientKey)
 *   ServerKey = HMAC(SaltedPassword, "Server Key")
 * PBKDF2 runs on libuv's thread pool (crypto.pbkdf2), never on the event loop: a high iteration
 * count must not stall every other connection.
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import { saslPrep } from './saslprep.js';
import { utf8OrNull } from '../encoding.js';
import type { ScramAlgorithm } from '../types.js';

/** What the server keeps (SPEC A9: SCRAM works from one-way stored keys). */
export interface ScramKeys { storedKey: Buffer; serverKey: Buffer }

/** With ClientKey, which only a client needs to build its proof. Never stored and never handed to
 *  a mechanism: whoever holds it can log in as the user. */
export interface ScramClientKeys extends ScramKeys { clientKey: Buffer }

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

/** Hi(str, salt, i) of RFC 5802 section 2.2. */
function hi(alg: ScramAlgorithm, normalized: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(normalized, salt, iterations, scramHashLength(alg), scramHashName(alg), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** ClientKey, StoredKey and ServerKey for an already normalized password (scramNormalize). */
export async function scramClientKeys(alg: ScramAlgorithm, normalized: Buffer, salt: Buffer, iterations: number): Promise<ScramClientKeys> {
  const h = scramHashName(alg);
  const salted = await hi(alg, normalized, salt, iterations);
  const clientKey = createHmac(h, salted).update('Client Key').digest();
  return {
    clientKey,
    storedKey: createHash(h).update(clientKey).digest(),
    serverKey: createHmac(h, salted).update('Server Key').digest(),
  };
}

/** StoredKey and ServerKey for an already normalized password: what is stored or handed out. */
export async function scramKeys(alg: ScramAlgorithm, normalized: Buffer, salt: Buffer, iterations: number): Promise<ScramKeys> {
  const { storedKey, serverKey } = await scramClientKeys(alg, normalized, salt, iterations);
  return { storedKey, serverKey };
}
