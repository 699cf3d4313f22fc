/** RFC 2307 {SSHA512}: salted sha512 digest: base64(sha512(password + salt) + salt). */
import { digestScheme } from './digest-common.js';

export const digestSsha512 = digestScheme('ssha512', 'sha512', true, ['{SSHA512}']);
