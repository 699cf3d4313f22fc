/** RFC 2307 {SHA512}: sha512 digest: base64(sha512(password)), or hex. */
import { digestScheme } from './digest-common.js';

export const digestSha512 = digestScheme('sha512', 'sha512', false, ['{SHA512}']);
