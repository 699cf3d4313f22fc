/**
 * SCRAM's key schedule (RFC 5802 section 3), for SHA-1 and SHA-256 (RFC 7677). The server only
 * ever holds StoredKey and ServerKey (A9: SCRAM works from one-way stored keys); the client and
 * the key-derivation helper compute them from a password with PBKDF2 (Hi), run on libuv's thread
 * pool so that a high iteration count never blocks the event loop.
 */
import { createHash, createHmac, pbkdf2, timingSafeEqual } from 'node:crypto';
import type { ScramAlgorithm } from '../../mechanism.js';

export const HASH_NAME: Record<ScramAlgorithm, 'sha1' | 'sha256'> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256' };
export const HASH_LENGTH: Record<ScramAlgorithm, number> = { 'SHA-1': 20, 'SHA-256': 32 };

export const hash = (alg: ScramAlgorithm, data: Buffer): Buffer => createHash(HASH_NAME[alg]).update(data).digest();
export const hmac = (alg: ScramAlgorithm, key: Buffer, data: Buffer | string): Buffer =>
  createHmac(HASH_NAME[alg], key).update(data).digest();

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/** Hi(str, salt, i) is PBKDF2 with HMAC-H and dkLen = the hash length (RFC 5802 section 2.2). */
export function hi(alg: ScramAlgorithm, password: Buffer, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, HASH_LENGTH[alg], HASH_NAME[alg], (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export interface ScramKeys { saltedPassword: Buffer; clientKey: Buffer; storedKey: Buffer; serverKey: Buffer }

export function keysFromSaltedPassword(alg: ScramAlgorithm, saltedPassword: Buffer): ScramKeys {
  const clientKey = hmac(alg, saltedPassword, 'Client Key');
  return { saltedPassword, clientKey, storedKey: hash(alg, clientKey), serverKey: hmac(alg, saltedPassword, 'Server Key') };
}

/** `password` must already be SASLprep'ed (src/passwords `saslPrep(..., 'stored')`). */
export async function deriveScramKeys(alg: ScramAlgorithm, password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  return keysFromSaltedPassword(alg, await hi(alg, Buffer.from(password, 'utf8'), salt, iterations));
}

/**
 * The server's check (RFC 5802 section 3): ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
 * then H(ClientKey) must equal StoredKey. Constant time, so the comparison leaks nothing about how
 * much of StoredKey an attacker's guess matched.
 */
export function verifyClientProof(alg: ScramAlgorithm, storedKey: Buffer, authMessage: string, proof: Buffer): boolean {
  const n = HASH_LENGTH[alg];
  if (proof.length !== n || storedKey.length !== n) return false;
  const clientSignature = hmac(alg, storedKey, authMessage);
  const clientKey = xor(proof, clientSignature);
  return timingSafeEqual(hash(alg, clientKey), storedKey);
}

export const serverSignature = (alg: ScramAlgorithm, serverKey: Buffer, authMessage: string): Buffer => hmac(alg, serverKey, authMessage);

export function clientProof(alg: ScramAlgorithm, keys: ScramKeys, authMessage: string): Buffer {
  return xor(keys.clientKey, hmac(alg, keys.storedKey, authMessage));
}
