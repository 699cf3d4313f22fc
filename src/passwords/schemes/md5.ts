/** RFC 2307 {MD5}, {LDAP-MD5}, {PLAIN-MD5}: md5 digest: base64(md5(password)), or hex. */
import { digestScheme } from './digest-common.js';

export const digestMd5 = digestScheme('md5', 'md5', false, ['{MD5}', '{LDAP-MD5}', '{PLAIN-MD5}']);
