/**
 * bcrypt `$2a$`, `$2b$`, `$2y$` (cost, 22 salt characters, 31 hash characters); Dovecot's
 * `{BLF-CRYPT}`. Checked by @node-rs/bcrypt's async call, which runs on libuv's thread pool.
 * bcrypt reads at most 72 password bytes: its own limit, one more reason to upgrade.
 */
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { BCRYPT_MAX_COST } from '../limits.js';
import type { ParseResult, PasswordScheme, SchemeCheck } from '../types.js';
import { forms, malformed, oneWay, overLimit } from './common.js';

const RE = /^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$/;

/** bcrypt's own range of costs (log2 of the rounds). */
const BCRYPT_MIN_COST = 4;
const BCRYPT_TOP_COST = 31;

export const bcrypt: PasswordScheme = {
  id: 'bcrypt',
  forms: forms(['', '{CRYPT}', '{BLF-CRYPT}'], ['$2a$', '$2b$', '$2y$']),
  parse(core): ParseResult {
    const m = RE.exec(core);
    if (!m) return malformed('bcrypt is $2[aby]$<cost>$<53 characters>');
    const cost = Number(m[1]);
    if (cost < BCRYPT_MIN_COST || cost > BCRYPT_TOP_COST) return malformed('bcrypt cost outside 04..31');
    if (cost > BCRYPT_MAX_COST) return overLimit('bcrypt cost above BCRYPT_MAX_COST');
    return oneWay('bcrypt', async (password): Promise<SchemeCheck> => {
      // The library's verify recomputes the hash with the stored salt and compares the result
      // in constant time (the Rust bcrypt crate's verify uses subtle's ConstantTimeEq).
      try {
        return (await bcryptVerify(password, core)) ? 'match' : 'mismatch';
      } catch {
        return 'error';
      }
    });
  },
};
