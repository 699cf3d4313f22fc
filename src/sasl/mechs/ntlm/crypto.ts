/**
 * NTLM's response functions (MS-NLMP section 3.3): NTLMv1 (DESL over the NT hash), NTLMv1 with
 * extended session security (the "NTLM2 session response"), and NTLMv2 (HMAC-MD5 keyed by
 * NTOWFv2). The server never needs the password: everything starts from the 16-byte NT hash,
 * which the engine hands over as the credential kind 'nt-hash'.
 *
 * NTOWFv1 (MD4 of the UTF-16LE password) is the password module's (src/passwords/algorithms/nt.ts,
 * `ntHashOfText`), the one MD4 of the project, which also checks stored `{NTLM}` and `$3$` forms.
 *
 * Node 20's OpenSSL 3 keeps single DES in its legacy provider, which is not loaded. DES here is
 * three-key 3DES with K1 = K2 = K3, which is single DES by construction (EDE with equal keys:
 * E_K(D_K(E_K(x))) = E_K(x)) and lives in OpenSSL's default provider.
 */
import { createCipheriv, createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** 7 key bytes to the 8-byte DES key layout (56 bits, 7 per byte, parity bit left clear: DES
 *  ignores it). */
function desKey(k7: Buffer): Buffer {
  const k = (i: number): number => k7[i] ?? 0;
  return Buffer.from([
    k(0),
    ((k(0) << 7) | (k(1) >> 1)) & 0xff,
    ((k(1) << 6) | (k(2) >> 2)) & 0xff,
    ((k(2) << 5) | (k(3) >> 3)) & 0xff,
    ((k(3) << 4) | (k(4) >> 4)) & 0xff,
    ((k(4) << 3) | (k(5) >> 5)) & 0xff,
    ((k(5) << 2) | (k(6) >> 6)) & 0xff,
    (k(6) << 1) & 0xff,
  ].map((x) => x & 0xfe));
}

/** Single-block DES encryption (ECB, no padding) under a 7-byte key. */
export function des(k7: Buffer, block: Buffer): Buffer {
  const key = desKey(k7);
  const c = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

/** DESL(K, D) (MS-NLMP section 6): K (16 bytes) padded to 21 and cut into three DES keys. */
export function desl(key16: Buffer, data8: Buffer): Buffer {
  const k = Buffer.concat([key16, Buffer.alloc(5)]);
  return Buffer.concat([des(k.subarray(0, 7), data8), des(k.subarray(7, 14), data8), des(k.subarray(14, 21), data8)]);
}

/** NTLMv1 NtChallengeResponse without extended session security. */
export const ntlmV1Response = (ntHash16: Buffer, serverChallenge: Buffer): Buffer => desl(ntHash16, serverChallenge);

/** NTLMv1 with NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: the challenge is the first 8 bytes of
 *  MD5(ServerChallenge || ClientChallenge), the client challenge travelling in the LM field. */
export function ntlmV1EssResponse(ntHash16: Buffer, serverChallenge: Buffer, clientChallenge: Buffer): Buffer {
  const h = createHash('md5').update(Buffer.concat([serverChallenge, clientChallenge])).digest();
  return desl(ntHash16, h.subarray(0, 8));
}

const hmacMd5 = (key: Buffer, data: Buffer): Buffer => createHmac('md5', key).update(data).digest();

/**
 * MS-NLMP Uppercase() for NTOWFv2's user name. Windows maps each UTF-16 code unit through its
 * own case table and never changes the length; JavaScript's toUpperCase would turn "ß" into
 * "SS", so a character whose upper case has another length is kept as it is.
 */
export function ntlmUppercase(s: string): string {
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/** NTOWFv2 (MS-NLMP section 3.3.2): HMAC-MD5(NT hash, UNICODE(Uppercase(User) + UserDom)); the
 *  domain keeps its case. */
export const ntowfV2 = (ntHash16: Buffer, user: string, domain: string): Buffer =>
  hmacMd5(ntHash16, Buffer.from(ntlmUppercase(user) + domain, 'utf16le'));

/** NTProofStr = HMAC-MD5(NTOWFv2, ServerChallenge || temp), temp being the client's blob. */
export const ntProofStr = (responseKey: Buffer, serverChallenge: Buffer, temp: Buffer): Buffer =>
  hmacMd5(responseKey, Buffer.concat([serverChallenge, temp]));

/** LMv2 response = HMAC-MD5(NTOWFv2, ServerChallenge || ClientChallenge) || ClientChallenge. */
export const lmV2Response = (responseKey: Buffer, serverChallenge: Buffer, clientChallenge: Buffer): Buffer =>
  Buffer.concat([hmacMd5(responseKey, Buffer.concat([serverChallenge, clientChallenge])), clientChallenge]);

/** The NTLMv2 client blob `temp` (MS-NLMP section 2.2.2.7 / 3.3.2): 1, 1, six zero bytes, the
 *  FILETIME, the client challenge, four zero bytes, the AV pairs, four zero bytes. */
export function ntlmV2Temp(timestamp: Buffer, clientChallenge: Buffer, targetInfo: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), timestamp, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
}

export const safeEqual = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);
