/** SCRAM-SHA-256 stored keys (RFC 7677), `{SCRAM-SHA-256}i,salt,StoredKey,ServerKey`: written beside
 *  every new one-way password so SCRAM works without a reversible secret (SPEC A9). */
import type { PasswordScheme } from '../types.js';
import { parseScram } from './scram-common.js';

export const scramSha256: PasswordScheme = {
  id: 'scram-sha-256',
  forms: [{ tag: '{SCRAM-SHA-256}', lead: '' }],
  parse: (core) => parseScram('scram-sha-256', 'SHA-256', core),
};
