/**
 * MD5-crypt (`$1$`), Poul-Henning Kamp's FreeBSD algorithm as glibc and libxcrypt implement it.
 * Synchronous and CPU-bound (1,000 MD5 rounds): only ever called inside a worker thread.
 */
import { createHash } from 'node:crypto';
import { CRYPT64 } from '../encoding.js';

const MAGIC = Buffer.from('$1$');

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Writes the low `n` 6-bit groups of `v`, least significant first (crypt's to64). */
function to64(v: number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += CRYPT64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** The 22-character hash part of `$1$salt$hash` for this password and salt (at most 8 bytes). */
export function md5CryptHash(password: Uint8Array, salt: Uint8Array): string {
  const alt = md5(password, salt, password);
  const ctx = createHash('md5');
  ctx.update(password).update(MAGIC).update(salt);
  for (let left = password.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(16, left)));
  // The original reads password[0] or a NUL byte for each bit of the length.
  const first = password.subarray(0, 1);
  const nul = Buffer.alloc(1);
  for (let i = password.length; i > 0; i >>>= 1) ctx.update((i & 1) !== 0 ? nul : first);
  let fin = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const c = createHash('md5');
    c.update((i & 1) !== 0 ? password : fin);
    if (i % 3 !== 0) c.update(salt);
    if (i % 7 !== 0) c.update(password);
    c.update((i & 1) !== 0 ? fin : password);
    fin = c.digest();
  }
  const b = (i: number): number => fin[i] ?? 0;
  return (
    to64((b(0) << 16) | (b(6) << 8) | b(12), 4) +
    to64((b(1) << 16) | (b(7) << 8) | b(13), 4) +
    to64((b(2) << 16) | (b(8) << 8) | b(14), 4) +
    to64((b(3) << 16) | (b(9) << 8) | b(15), 4) +
    to64((b(4) << 16) | (b(10) << 8) | b(5), 4) +
    to64(b(11), 2)
  );
}
