/**
 * The RFC 2307 / OpenLDAP digest forms: `{SHA}` = base64(H(password)), `{SSHA}` =
 * base64(H(password + salt) + salt), and the same for MD5, SHA-256 and SHA-512. Like Dovecot, an
 * unsalted digest is also accepted in hex when its length says so. One hash call: computed
 * inline, compared in constant time.
 */
import { createHash } from 'node:crypto';
import { decodeBase64Strict } from '../../core/base64.js';
import { decodeHexStrict, equalSecrets } from '../encoding.js';
import { SALT_MAX_BYTES } from '../limits.js';
import type { ParseResult, PasswordScheme, SchemeId } from '../types.js';
import { malformed, oneWay, overLimit } from './common.js';

export type DigestName = 'md5' | 'sha1' | 'sha256' | 'sha512';

const DIGEST_BYTES: Record<DigestName, number> = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

export function digestScheme(id: SchemeId, digest: DigestName, salted: boolean, tags: readonly string[]): PasswordScheme {
  const len = DIGEST_BYTES[digest];
  return {
    id,
    forms: tags.map((tag) => ({ tag, lead: '' })),
    parse(core): ParseResult {
      const raw = !salted && core.length === 2 * len ? decodeHexStrict(core) : decodeBase64Strict(core);
      if (!raw) return malformed('not canonical base64 (or hex) text');
      if (salted ? raw.length <= len : raw.length !== len) return malformed(`${digest} digest of a wrong length`);
      if (raw.length - len > SALT_MAX_BYTES) return overLimit('salt above SALT_MAX_BYTES');
      const expected = raw.subarray(0, len);
      const salt = raw.subarray(len);
      return oneWay(id, (password) => {
        const actual = createHash(digest).update(password).update(salt).digest();
        return Promise.resolve(equalSecrets(actual, expected) ? 'match' : 'mismatch');
      });
    },
  };
}
