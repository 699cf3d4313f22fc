/**
 * The NT hash that NTLM needs: MD4 over the password's UTF-16LE encoding (MS-NLMP section 3.3.1,
 * NTOWFv1). OpenSSL 3 ships MD4 only in its legacy provider, so node's createHash('md4') fails;
 * js-md4's own JavaScript code does it (its default export would call createHash, so only the
 * pure-JavaScript `arrayBuffer` output is used). The one MD4 of the project: the stored `{NTLM}`
 * and `$3$` forms and the NTLM mechanism (src/sasl/mechs/ntlm) both use it.
 */
import { createRequire } from 'node:module';
import { utf8OrNull } from '../encoding.js';

interface JsMd4 { arrayBuffer(message: Uint8Array): ArrayBuffer }
const jsMd4 = createRequire(import.meta.url)('js-md4') as JsMd4;

export function md4(message: Uint8Array): Buffer {
  return Buffer.from(jsMd4.arrayBuffer(message));
}

/** NTOWFv1 of a password already held as text: what Windows computes from what the user typed. */
export function ntHashOfText(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** The NT hash of a password given as UTF-8 bytes, or null when they are not valid UTF-8 (a
 *  lossy decoding would give two different byte strings the same hash). */
export function ntHash(password: Uint8Array): Buffer | null {
  const text = utf8OrNull(password);
  return text === null ? null : ntHashOfText(text);
}

/**
 * The hash FreeBSD's and libxcrypt's `$3$` method compute: each password byte widened to 16 bits,
 * which is UTF-16LE only for ASCII (and Latin-1) passwords. Stored `$3$` strings are checked
 * this way because that is how they were made.
 */
export function ntHashOfBytes(password: Uint8Array): Buffer {
  const wide = Buffer.alloc(password.length * 2);
  password.forEach((b, i) => { wide[2 * i] = b; });
  return md4(wide);
}
