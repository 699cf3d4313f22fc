/**
 * Traditional crypt(3) DES: 2 salt characters and 11 hash characters. A bare 13-character string
 * is indistinguishable from a clear password, so the scheme is recognised only under RFC 2307's
 * `{CRYPT}` tag. Only 8 password bytes count: always upgraded at the next login.
 */
import { isCrypt64 } from '../encoding.js';
import type { ParseResult, PasswordScheme } from '../types.js';
import { malformed, oneWay, poolCheck } from './common.js';

export const desCrypt: PasswordScheme = {
  id: 'des-crypt',
  forms: [{ tag: '{CRYPT}', lead: '' }],
  parse(core): ParseResult {
    if (/^\$[A-Za-z0-9-]{1,32}\$/.test(core)) {
      return { ok: false, problem: 'unknown-scheme', reason: 'crypt method not supported' };
    }
    if (core.length !== 13 || !isCrypt64(core)) return malformed('DES crypt is 13 characters of ./0-9A-Za-z');
    const salt = core.slice(0, 2);
    const hash = core.slice(2);
    return oneWay('des-crypt', (password) => poolCheck({ algo: 'des-crypt', password, salt }, hash));
  },
};
