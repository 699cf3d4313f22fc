/** RFC 2307 {SHA256}: sha256 digest: base64(sha256(password)), or hex. */
import { digestScheme } from './digest-common.js';

export const digestSha256 = digestScheme('sha256', 'sha256', false, ['{SHA256}']);
