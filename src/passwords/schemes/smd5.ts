/** RFC 2307 {SMD5}: salted md5 digest: base64(md5(password + salt) + salt). */
import { digestScheme } from './digest-common.js';

export const digestSmd5 = digestScheme('smd5', 'md5', true, ['{SMD5}']);
