/**
 * argon2id in the PHC string format `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>`:
 * the form new one-way passwords are stored in (SPEC P3). Hashing and checking go through
 * @node-rs/argon2's async calls, which run on libuv's thread pool.
 */
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { decodeBase64NoPadStrict, parseDecimal } from '../encoding.js';
import { ARGON2_MAX_MEMORY_KIB, ARGON2_MAX_PARALLELISM, ARGON2_MAX_TIME_COST, SALT_MAX_BYTES } from '../limits.js';
import type { ParseResult, PasswordScheme, SchemeCheck } from '../types.js';
import { malformed, oneWay, overLimit } from './common.js';

/**
 * Parameters for new hashes: OWASP's first argon2id recommendation (19 MiB, 2 passes, 1 lane).
 * Measured on this project's 2-core machine: about 15 ms per verification alone and about 13 ms
 * each (throughput) with 8 at once, so a login stays in the low tens of milliseconds while an
 * attacker with the stored hash pays 19 MiB of memory per guess.
 */
export const ARGON2ID_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1, outputLen: 32 } as const;

/** Salt bytes for new hashes (RFC 9106 recommends 16). */
export const ARGON2ID_SALT_BYTES = 16;

/** @node-rs/argon2's `Algorithm.Argon2id` (a const enum, which NodeNext cannot import as a value). */
const ALGORITHM_ARGON2ID = 2;

/** Argon2 version 1.3 (0x13), the only one written since 2016. */
const ARGON2_VERSION = 19;

const RE = /^\$argon2id\$v=([0-9]+)\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Argon2's own floor on the output (RFC 9106: at least 4 bytes; nothing real uses under 16). */
const ARGON2_MIN_OUTPUT = 4;
const ARGON2_MAX_OUTPUT = 64;

export function hashArgon2id(password: Buffer): Promise<string> {
  return argon2Hash(password, { algorithm: ALGORITHM_ARGON2ID, ...ARGON2ID_PARAMS });
}

export const argon2id: PasswordScheme = {
  id: 'argon2id',
  forms: [{ tag: '', lead: '$argon2id$' }, { tag: '{ARGON2ID}', lead: '$argon2id$' }],
  parse(core): ParseResult {
    const f = RE.exec(core);
    if (!f) return malformed('argon2id is $argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>');
    const version = parseDecimal(f[1] ?? '', 255);
    const m = parseDecimal(f[2] ?? '', 0xffffffff);
    const t = parseDecimal(f[3] ?? '', 0xffffffff);
    const p = parseDecimal(f[4] ?? '', 0xffffff);
    const salt = decodeBase64NoPadStrict(f[5] ?? '');
    const out = decodeBase64NoPadStrict(f[6] ?? '');
    if (version !== ARGON2_VERSION) return malformed('argon2 version other than 19');
    if (m === null || t === null || p === null || t < 1 || p < 1 || m < 8 * p) return malformed('argon2 parameters out of range');
    if (!salt || salt.length < 8 || !out || out.length < ARGON2_MIN_OUTPUT || out.length > ARGON2_MAX_OUTPUT) {
      return malformed('argon2 salt or hash of a wrong length');
    }
    if (salt.length > SALT_MAX_BYTES) return overLimit('argon2 salt above SALT_MAX_BYTES');
    if (m > ARGON2_MAX_MEMORY_KIB || t > ARGON2_MAX_TIME_COST || p > ARGON2_MAX_PARALLELISM) {
      return overLimit('argon2 parameters above ARGON2_MAX_*');
    }
    // No weaker than today's parameters: no upgrade (a stronger imported hash is kept, not weakened).
    const upToDate = m >= ARGON2ID_PARAMS.memoryCost && t >= ARGON2ID_PARAMS.timeCost && out.length >= ARGON2ID_PARAMS.outputLen;
    return oneWay('argon2id', async (password): Promise<SchemeCheck> => {
      try {
        // The library recomputes and compares in constant time (the argon2 reference's verify).
        return (await argon2Verify(core, password)) ? 'match' : 'mismatch';
      } catch {
        return 'error';
      }
    }, { upToDate });
  },
};
