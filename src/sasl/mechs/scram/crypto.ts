/**
 * SCRAM's proof and signature (RFC 5802 section 3), for SHA-1 and SHA-256 (RFC 7677). The server
 * only ever holds StoredKey and ServerKey (A9: SCRAM works from one-way stored keys). The keys
 * themselves (Normalize, Hi, ClientKey/StoredKey/ServerKey) come from the password module
 * (src/passwords/algorithms/scram.ts), so keys stored or derived there and the keys our client
 * computes can never be made two different ways.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { scramHashLength, scramHashName, type ScramClientKeys } from '../../../passwords/index.js';
import type { ScramAlgorithm } from '../../mechanism.js';

const hash = (alg: ScramAlgorithm, data: Buffer): Buffer => createHash(scramHashName(alg)).update(data).digest();
const hmac = (alg: ScramAlgorithm, key: Buffer, data: Buffer | string): Buffer =>
  createHmac(scramHashName(alg), key).update(data).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] ?? 0) ^ (b[i] ?? 0);
  return out;
}

/**
 * The server's check (RFC 5802 section 3): ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage),
 * then H(ClientKey) must equal StoredKey. Constant time, so the comparison leaks nothing about how
 * much of StoredKey an attacker's guess matched.
 */
export function verifyClientProof(alg: ScramAlgorithm, storedKey: Buffer, authMessage: string, proof: Buffer): boolean {
  const n = scramHashLength(alg);
  if (proof.length !== n || storedKey.length !== n) return false;
  const clientSignature = hmac(alg, storedKey, authMessage);
  const clientKey = xor(proof, clientSignature);
  return timingSafeEqual(hash(alg, clientKey), storedKey);
}

export const serverSignature = (alg: ScramAlgorithm, serverKey: Buffer, authMessage: string): Buffer => hmac(alg, serverKey, authMessage);

export function clientProof(alg: ScramAlgorithm, keys: ScramClientKeys, authMessage: string): Buffer {
  return xor(keys.clientKey, hmac(alg, keys.storedKey, authMessage));
}
