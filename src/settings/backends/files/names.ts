/**
 * Object names (domains and accounts) become file names in the data directory, so a name is the
 * one thing a remote user can push into a path. Every store backend and the directory service
 * validate names through `validateObjectName`, the single place where the rule lives.
 *
 * The rule is an allow-list, not a deny-list of known-bad characters: anything outside a small
 * ASCII alphabet is refused, which rules out at once path separators (`/`, `\`), NUL and the other
 * control characters, percent-encoded tricks (`%2e%2e`), and Unicode look-alikes (U+2215 DIVISION
 * SLASH, U+FF0E FULLWIDTH FULL STOP, combining marks) that some layer might later normalise into a
 * separator or a dot.
 *
 * Domains: lowercase DNS names. Labels of 1..63 characters from `a-z 0-9 -`, not starting or
 * ending with `-` (RFC 1035 / RFC 1123 host names), joined by single dots, no leading or trailing
 * dot, at most 253 characters. Internationalised names are stored in their ASCII (`xn--`) form; the
 * directory service converts.
 *
 * Accounts: lowercase `a-z 0-9` and `. - _ +`. The first character is a letter or digit (a leading
 * `-` would read as an option to the external-authentication helper or an OS tool; a leading dot
 * is a hidden file and the store's own temporary files start with one). No two dots in a row and
 * no trailing dot (the dot-atom of RFC 5322, so the name is a valid local part without quoting).
 * At most ACCOUNT_NAME_MAX_LENGTH characters.
 *
 * Both: lowercase only. The directory service lowercases names (account names are
 * case-insensitive), and the store refuses uppercase so that two spellings can never become two
 * files (and so that a case-insensitive file system cannot merge two objects). A name whose
 * first dot-separated part is a Windows device name (`con`, `nul`, `com1`...) is refused, so a
 * data directory stays safe to copy to, back up on or serve from a Windows or SMB file system.
 */
import { MailwardError } from '../../../core/errors.js';
import { NAME_MAX_LENGTH } from '../../../core/limits.js';

export type ObjectNameKind = 'domain' | 'account';

/** The longest DNS name in its textual form (RFC 1035 section 2.3.4: 255 octets on the wire). */
export const DOMAIN_NAME_MAX_LENGTH = Math.min(253, NAME_MAX_LENGTH);

/** One DNS label (RFC 1035 section 2.3.4). */
export const DOMAIN_LABEL_MAX_LENGTH = 63;

/** The file-system suffix of an account directory (`<account>.macnt`, CommuniGate Pro's layout). */
export const ACCOUNT_DIR_SUFFIX = '.macnt';

/** An account's directory name (`<account>.macnt`) must fit a file name of NAME_MAX_LENGTH bytes. */
export const ACCOUNT_NAME_MAX_LENGTH = NAME_MAX_LENGTH - ACCOUNT_DIR_SUFFIX.length;

/** Device names that Windows resolves in every directory, whatever the extension. */
const WINDOWS_DEVICE_NAMES = new Set([
  'con', 'prn', 'aux', 'nul',
  'com1', 'com2', 'com3', 'com4', 'com5', 'com6', 'com7', 'com8', 'com9',
  'lpt1', 'lpt2', 'lpt3', 'lpt4', 'lpt5', 'lpt6', 'lpt7', 'lpt8', 'lpt9',
]);

const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._+-]*$/;

export type NameCheck = { ok: true } | { ok: false; reason: string };

/** Shows a refused name in a message without letting control characters into a log or terminal. */
export function printableName(name: string): string {
  const shown = name.length > 80 ? name.slice(0, 80) + '...' : name;
  return JSON.stringify(shown).replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** The rule for object names. Returns why a name is refused; never throws. */
export function validateObjectName(kind: ObjectNameKind, name: unknown): NameCheck {
  if (typeof name !== 'string') return { ok: false, reason: `${kind} name is not a string` };
  if (name.length === 0) return { ok: false, reason: `${kind} name is empty` };
  const max = kind === 'domain' ? DOMAIN_NAME_MAX_LENGTH : ACCOUNT_NAME_MAX_LENGTH;
  // Checked before any pattern so that a hostile megabyte-long name costs nothing to refuse.
  if (name.length > max) return { ok: false, reason: `${kind} name is longer than ${max} characters` };
  if (/[A-Z]/.test(name)) return { ok: false, reason: `${kind} name has uppercase letters (names are stored in lowercase)` };
  if (kind === 'domain') {
    const labels = name.split('.');
    for (const label of labels) {
      if (label.length === 0) return { ok: false, reason: 'domain name has an empty label (leading, trailing or double dot)' };
      if (label.length > DOMAIN_LABEL_MAX_LENGTH) return { ok: false, reason: `domain label is longer than ${DOMAIN_LABEL_MAX_LENGTH} characters` };
      if (!DOMAIN_LABEL.test(label)) {
        return { ok: false, reason: 'domain name may only have labels of a-z, 0-9 and inner hyphens, joined by dots' };
      }
    }
  } else {
    if (!ACCOUNT_NAME.test(name)) {
      return { ok: false, reason: 'account name may only have a-z, 0-9 and . - _ +, and must start with a letter or digit' };
    }
    if (name.includes('..')) return { ok: false, reason: 'account name has two dots in a row' };
    if (name.endsWith('.')) return { ok: false, reason: 'account name ends with a dot' };
  }
  const first = name.split('.')[0] ?? '';
  if (WINDOWS_DEVICE_NAMES.has(first)) return { ok: false, reason: `${kind} name starts with a reserved device name "${first}"` };
  return { ok: true };
}

/** `validateObjectName` for callers that treat a bad name as a refused request: throws `name.invalid`. */
export function assertObjectName(kind: ObjectNameKind, name: unknown): asserts name is string {
  const check = validateObjectName(kind, name);
  if (!check.ok) {
    const shown = typeof name === 'string' ? printableName(name) : typeof name;
    throw new MailwardError('name.invalid', `invalid ${kind} name ${shown}: ${check.reason}`);
  }
}
