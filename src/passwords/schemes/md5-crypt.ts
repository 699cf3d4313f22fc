/**
 * MD5-crypt `$1$salt$hash` (salt up to 8 characters, 22 hash characters). Dovecot writes it as
 * `{MD5-CRYPT}` and, confusingly, `{MD5}` (which OpenLDAP uses for a plain MD5 digest; the two
 * never collide because base64 has no `$`). 1,000 MD5 rounds: a worker thread computes it.
 */
import type { ParseResult, PasswordScheme } from '../types.js';
import { CRYPT_SALT_CHARS, forms, malformed, oneWay, poolCheck } from './common.js';

const RE = new RegExp(`^\\$1\\$(${CRYPT_SALT_CHARS}{0,8})\\$([./0-9A-Za-z]{22})$`);

export const md5Crypt: PasswordScheme = {
  id: 'md5-crypt',
  forms: forms(['', '{CRYPT}', '{MD5-CRYPT}', '{MD5}'], ['$1$']),
  parse(core): ParseResult {
    const m = RE.exec(core);
    if (!m) return malformed('MD5-crypt is $1$<salt of at most 8>$<22 characters>');
    const salt = Buffer.from(m[1] ?? '', 'latin1');
    const hash = m[2] ?? '';
    return oneWay('md5-crypt', (password) => poolCheck({ algo: 'md5-crypt', password, salt }, hash));
  },
};
