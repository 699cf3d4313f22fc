/**
 * Encodings used by stored password forms, decoded strictly: a stored value that is not the
 * canonical encoding of some bytes is garbled, and garbled values are refused (never "repaired",
 * which could make two different strings verify the same password).
 */
import { hash, timingSafeEqual } from 'node:crypto';

/** The crypt(3) alphabet: `./0-9A-Za-z`, value 0-63 in this order. */
export const CRYPT64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function isCrypt64(s: string): boolean {
  return /^[./0-9A-Za-z]*$/.test(s);
}

/** Unpadded standard base64 as the PHC string format (argon2) writes it. */
export function decodeBase64NoPadStrict(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return null;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64').replace(/=+$/, '') === s ? b : null;
}

export function decodeHexStrict(s: string): Buffer | null {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) return null;
  return Buffer.from(s, 'hex');
}

/**
 * Constant-time equality of two secrets of any lengths. Both sides are hashed (SHA-256) first so
 * the comparison time depends on neither their contents nor (for clear passwords) their lengths;
 * timingSafeEqual alone throws on unequal lengths and would reveal the stored length. The digests
 * never leave this function, so no key is needed (an HMAC per side, as before, cost three times
 * the one-shot `hash`: a few per cent of a relayed login, docs/benchmarks.md).
 */
export function equalSecrets(a: Uint8Array, b: Uint8Array): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

/** Strict decimal: no sign, no leading zero (a stored `rounds=05000` is not what any tool writes). */
export function parseDecimal(s: string, max: number): number | null {
  if (!/^(?:0|[1-9][0-9]{0,9})$/.test(s)) return null;
  const n = Number(s);
  return n <= max ? n : null;
}

/** Password bytes as text, or null when they are not valid UTF-8 (then no mechanism that needs a
 *  string, SCRAM's SASLprep or NTLM's UTF-16, can use them). */
export function utf8OrNull(b: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return null;
  }
}
