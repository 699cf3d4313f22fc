/**
 * SHA-crypt (`$5$` SHA-256, `$6$` SHA-512), Ulrich Drepper's specification as glibc implements it.
 * Synchronous and CPU-bound (5,000 rounds by default): only ever called inside a worker thread.
 */
import { createHash } from 'node:crypto';
import { CRYPT64 } from '../encoding.js';

export type ShaCryptBits = 256 | 512;

/** Byte order in which the specification writes the digest, three bytes per 4 characters. */
const ORDER_256: readonly (readonly [number, number, number])[] = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];
const ORDER_512: readonly (readonly [number, number, number])[] = [
  [0, 21, 42], [22, 43, 1], [44, 2, 23], [3, 24, 45], [25, 46, 4], [47, 5, 26], [6, 27, 48],
  [28, 49, 7], [50, 8, 29], [9, 30, 51], [31, 52, 10], [53, 11, 32], [12, 33, 54], [34, 55, 13],
  [56, 14, 35], [15, 36, 57], [37, 58, 16], [59, 17, 38], [18, 39, 60], [40, 61, 19], [62, 20, 41],
];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += CRYPT64[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** `len` bytes made by repeating `block` (the P and S sequences of the specification). */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += block.length) block.copy(out, off, 0, Math.min(block.length, len - off));
  return out;
}

/**
 * The hash part (43 or 86 characters) of `$5$`/`$6$` for this password, salt (at most 16 bytes,
 * as the caller has checked) and round count (already within glibc's 1,000..999,999,999).
 */
export function shaCryptHash(bits: ShaCryptBits, password: Uint8Array, salt: Uint8Array, rounds: number): string {
  const alg = bits === 256 ? 'sha256' : 'sha512';
  const hlen = bits / 8;
  const H = (): ReturnType<typeof createHash> => createHash(alg);

  const B = H().update(password).update(salt).update(password).digest();
  const a = H().update(password).update(salt);
  let cnt = password.length;
  for (; cnt > hlen; cnt -= hlen) a.update(B);
  a.update(B.subarray(0, cnt));
  for (cnt = password.length; cnt > 0; cnt >>>= 1) a.update((cnt & 1) !== 0 ? B : password);
  const A = a.digest();

  const dp = H();
  for (let i = 0; i < password.length; i++) dp.update(password);
  const P = repeatTo(dp.digest(), password.length);

  const ds = H();
  for (let i = 0; i < 16 + (A[0] ?? 0); i++) ds.update(salt);
  const S = repeatTo(ds.digest(), salt.length);

  let C = A;
  for (let i = 0; i < rounds; i++) {
    const c = H();
    c.update((i & 1) !== 0 ? P : C);
    if (i % 3 !== 0) c.update(S);
    if (i % 7 !== 0) c.update(P);
    c.update((i & 1) !== 0 ? C : P);
    C = c.digest();
  }

  const b = (i: number): number => C[i] ?? 0;
  let out = '';
  for (const [x, y, z] of bits === 256 ? ORDER_256 : ORDER_512) out += b64From24(b(x), b(y), b(z), 4);
  out += bits === 256 ? b64From24(0, b(31), b(30), 3) : b64From24(0, 0, b(63), 2);
  return out;
}
