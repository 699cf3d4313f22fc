/**
 * The scheme registry, keyed by the stored format. Each scheme file declares its forms (a
 * `{TAG}` and/or a lead such as `$6$`); a stored string goes to the form with the longest
 * matching prefix, so `{MD5}$1$...` is MD5-crypt while `{MD5}...` is an MD5 digest, and
 * `{CRYPT}$6$...` is SHA-512-crypt while `{CRYPT}` plus 13 characters is DES. A string that
 * matches no form is clear text, unless it looks like a tag or a crypt id that we do not know:
 * such a string is refused, never taken as a clear password (else the hash text itself would be
 * the password).
 */
import { STORED_MAX_LENGTH } from './limits.js';
import type { ParsedPassword, PasswordScheme, SchemeForm, SchemeId } from './types.js';
import { argon2id } from './schemes/argon2id.js';
import { bcrypt } from './schemes/bcrypt.js';
import { clear } from './schemes/clear.js';
import { desCrypt } from './schemes/des-crypt.js';
import { digestMd5 } from './schemes/md5.js';
import { md5Crypt } from './schemes/md5-crypt.js';
import { nt } from './schemes/nt.js';
import { scramSha1 } from './schemes/scram-sha-1.js';
import { scramSha256 } from './schemes/scram-sha-256.js';
import { digestSha } from './schemes/sha.js';
import { digestSha256 } from './schemes/sha256.js';
import { sha256Crypt } from './schemes/sha256-crypt.js';
import { digestSha512 } from './schemes/sha512.js';
import { sha512Crypt } from './schemes/sha512-crypt.js';
import { digestSmd5 } from './schemes/smd5.js';
import { digestSsha } from './schemes/ssha.js';
import { digestSsha256 } from './schemes/ssha256.js';
import { digestSsha512 } from './schemes/ssha512.js';

export const SCHEMES: readonly PasswordScheme[] = [
  clear, desCrypt, md5Crypt, sha256Crypt, sha512Crypt, bcrypt, argon2id,
  digestMd5, digestSmd5, digestSha, digestSsha, digestSha256, digestSsha256, digestSha512, digestSsha512,
  scramSha1, scramSha256, nt,
];

interface Entry { key: string; scheme: PasswordScheme; form: SchemeForm }

/** Longest key first. Built once; two schemes claiming the same key is a bug caught at load. */
const TABLE: readonly Entry[] = (() => {
  const seen = new Map<string, SchemeId>();
  const entries: Entry[] = [];
  for (const scheme of SCHEMES) {
    for (const form of scheme.forms) {
      const key = form.tag.toUpperCase() + form.lead;
      if (key === '') throw new Error(`scheme ${scheme.id} declares an empty form`);
      const other = seen.get(key);
      if (other !== undefined) throw new Error(`schemes ${other} and ${scheme.id} both claim ${key}`);
      seen.set(key, scheme.id);
      entries.push({ key, scheme, form });
    }
  }
  return entries.sort((a, b) => b.key.length - a.key.length);
})();

/** Longest `{TAG}` we treat as a scheme tag (Dovecot's longest are about 20 characters). */
const TAG_MAX = 64;

/** A leading `{...}` tag or `$id$` crypt identifier, known or not. */
const TAG_RE = new RegExp(`^\\{[^{}]{0,${TAG_MAX}}\\}`);
const CRYPT_ID_RE = /^\$[A-Za-z0-9-]{1,32}\$/;

export function looksTagged(s: string): boolean {
  return TAG_RE.test(s) || CRYPT_ID_RE.test(s);
}

/** Tags compare case-insensitively ({ssha} = {SSHA}, as in OpenLDAP and Dovecot); leads exactly. */
function matchKey(stored: string): string {
  const m = TAG_RE.exec(stored);
  return m ? m[0].toUpperCase() + stored.slice(m[0].length) : stored;
}

export type Identified =
  | { status: 'parsed'; parsed: ParsedPassword }
  /** Absent or empty password, bare or as `{PLAIN}`: never verifies (SPEC P4). */
  | { status: 'empty' }
  | { status: 'unknown-scheme'; reason: string }
  /** `scheme` is absent when the string was refused before any scheme was chosen (too long). */
  | { status: 'malformed' | 'over-limit'; scheme?: SchemeId; reason: string };

/** What a stored password string is. Never throws; the reason strings never contain the input. */
export function identify(stored: string): Identified {
  if (typeof stored !== 'string' || stored === '') return { status: 'empty' };
  if (stored.length > STORED_MAX_LENGTH) return { status: 'over-limit', reason: 'stored value above STORED_MAX_LENGTH' };
  const key = matchKey(stored);
  const entry = TABLE.find((e) => key.startsWith(e.key));
  let scheme: PasswordScheme;
  let core: string;
  let form: SchemeForm;
  if (entry) {
    scheme = entry.scheme;
    form = entry.form;
    core = stored.slice(form.tag.length);
  } else if (looksTagged(stored)) {
    return { status: 'unknown-scheme', reason: 'tag or crypt id of no registered scheme' };
  } else {
    scheme = clear;
    form = { tag: '', lead: '' };
    core = stored;
  }
  if (scheme.id === 'clear' && core === '') return { status: 'empty' };
  const r = scheme.parse(core, form);
  if (r.ok) return { status: 'parsed', parsed: r.parsed };
  if (r.problem === 'unknown-scheme') return { status: 'unknown-scheme', reason: r.reason };
  return { status: r.problem, scheme: scheme.id, reason: r.reason };
}

/** The stored form of a clear-text password: itself, or `{PLAIN}` + itself when the bare string
 *  would be read as a hash or a tag. */
export function clearStoredForm(password: string): string {
  if (password === '') return '';
  const bare = identify(password);
  const readsBack = bare.status === 'parsed' && bare.parsed.scheme === 'clear' && !password.startsWith('{') && !password.startsWith('$');
  return readsBack ? password : `{PLAIN}${password}`;
}
