/** RFC 2307 {SSHA}: salted sha1 digest: base64(sha1(password + salt) + salt). */
import { digestScheme } from './digest-common.js';

export const digestSsha = digestScheme('ssha', 'sha1', true, ['{SSHA}']);
