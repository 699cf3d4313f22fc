/** SCRAM-SHA-1 stored keys (RFC 5802), `{SCRAM-SHA-1}i,salt,StoredKey,ServerKey`. */
import type { PasswordScheme } from '../types.js';
import { parseScram } from './scram-common.js';

export const scramSha1: PasswordScheme = {
  id: 'scram-sha-1',
  forms: [{ tag: '{SCRAM-SHA-1}', lead: '' }],
  parse: (core) => parseScram('scram-sha-1', 'SHA-1', core),
};
