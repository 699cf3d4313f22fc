/** SHA-512-crypt `$6$[rounds=N$]salt$hash` (Drepper); Dovecot's `{SHA512-CRYPT}`. */
import type { PasswordScheme } from '../types.js';
import { forms } from './common.js';
import { parseShaCrypt } from './sha-crypt-common.js';

export const sha512Crypt: PasswordScheme = {
  id: 'sha512-crypt',
  forms: forms(['', '{CRYPT}', '{SHA512-CRYPT}'], ['$6$']),
  parse: (core) => parseShaCrypt('sha512-crypt', 512, core),
};
