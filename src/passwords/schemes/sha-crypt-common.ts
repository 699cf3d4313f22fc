/** Parsing shared by the SHA-256-crypt and SHA-512-crypt scheme files. */
import { parseDecimal } from '../encoding.js';
import { SHACRYPT_MAX_ROUNDS, SHACRYPT_MIN_ROUNDS } from '../limits.js';
import type { ParseResult, SchemeId } from '../types.js';
import { CRYPT_SALT_CHARS, malformed, oneWay, overLimit, poolCheck } from './common.js';

/** Rounds when the stored string names none (the specification's default). */
export const SHACRYPT_DEFAULT_ROUNDS = 5000;

export function parseShaCrypt(id: SchemeId, bits: 256 | 512, core: string): ParseResult {
  const hashLen = bits === 256 ? 43 : 86;
  const re = new RegExp(`^\\$${bits === 256 ? 5 : 6}\\$(?:rounds=([0-9]{1,12})\\$)?(${CRYPT_SALT_CHARS}{0,16})\\$([./0-9A-Za-z]{${hashLen}})$`);
  const m = re.exec(core);
  if (!m) return malformed(`SHA-crypt is $${bits === 256 ? 5 : 6}$[rounds=N$]<salt of at most 16>$<${hashLen} characters>`);
  let rounds = SHACRYPT_DEFAULT_ROUNDS;
  if (m[1] !== undefined) {
    const n = parseDecimal(m[1], Number.MAX_SAFE_INTEGER);
    if (n === null || n < SHACRYPT_MIN_ROUNDS) return malformed('rounds= is not a count crypt(3) writes');
    if (n > SHACRYPT_MAX_ROUNDS) return overLimit('rounds= above SHACRYPT_MAX_ROUNDS');
    rounds = n;
  }
  const salt = Buffer.from(m[2] ?? '', 'latin1');
  const hash = m[3] ?? '';
  return oneWay(id, (password) => poolCheck({ algo: 'sha-crypt', bits, password, salt, rounds }, hash));
}
