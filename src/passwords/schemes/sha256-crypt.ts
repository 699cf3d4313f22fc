/** SHA-256-crypt `$5$[rounds=N$]salt$hash` (Drepper); Dovecot's `{SHA256-CRYPT}`. */
import type { PasswordScheme } from '../types.js';
import { forms } from './common.js';
import { parseShaCrypt } from './sha-crypt-common.js';

export const sha256Crypt: PasswordScheme = {
  id: 'sha256-crypt',
  forms: forms(['', '{CRYPT}', '{SHA256-CRYPT}'], ['$5$']),
  parse: (core) => parseShaCrypt('sha256-crypt', 256, core),
};
