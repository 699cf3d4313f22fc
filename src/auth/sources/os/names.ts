/**
 * The "OS User Name" setting (P6): a pattern where `*` stands for the account name. `*` (the
 * default) is the account name itself, `mail-*` gives `mail-alice`, `*%corp` gives `alice%corp`.
 * On Windows CommuniGate Pro splits at `%` into user and Windows domain; on Unix there is no such
 * split, so the `%` and what follows are simply part of the OS user name. Every `*` is replaced;
 * a pattern without `*` names one OS user for every account.
 */

/** LOGIN_NAME_MAX on Linux is 256 with the terminating NUL: no OS user name is longer. */
export const OS_USER_NAME_MAX = 255;

/**
 * Why a composed name cannot be an OS user name we hand to PAM, or null when it can. The same
 * rule is in mailward-pam.c. Control characters and whitespace have no place in a user name and
 * could confuse a module's logs or lookups; `/` and `:` are path and passwd-field separators; a
 * leading `-` could be taken for an option by a module that runs a command (pam_exec).
 */
export function checkOsUserName(name: string): string | null {
  if (name.length === 0) return 'empty';
  if (Buffer.byteLength(name, 'utf8') > OS_USER_NAME_MAX) return 'too long';
  if (name.startsWith('-')) return 'starts with "-"';
  if (/[\x00-\x20\x7f/:]/.test(name)) return 'contains whitespace, a control character, "/" or ":"';
  return null;
}

export type OsUserNameResult = { ok: true; name: string } | { ok: false; why: string };

/** The OS user name for an account under a pattern, checked. */
export function osUserName(pattern: string, account: string): OsUserNameResult {
  const name = pattern.split('*').join(account);
  const why = checkOsUserName(name);
  return why === null ? { ok: true, name } : { ok: false, why };
}
