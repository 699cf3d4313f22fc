/** RFC 2307 {SSHA256}: salted sha256 digest: base64(sha256(password + salt) + salt). */
import { digestScheme } from './digest-common.js';

export const digestSsha256 = digestScheme('ssha256', 'sha256', true, ['{SSHA256}']);
