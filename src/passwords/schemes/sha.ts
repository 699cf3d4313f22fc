/** RFC 2307 {SHA}, {SHA1}: sha1 digest: base64(sha1(password)), or hex. */
import { digestScheme } from './digest-common.js';

export const digestSha = digestScheme('sha', 'sha1', false, ['{SHA}', '{SHA1}']);
