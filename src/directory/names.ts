/**
 * Login names: `name`, `name@domain` or `name@alias`. Account names are case-insensitive, so every
 * name is folded to lowercase before it reaches the store (which refuses uppercase, so two
 * spellings can never become two accounts).
 */
export interface ParsedLogin { name: string; domain: string | null }

/** Longest login name accepted from a client: a local part (64) + @ + a DNS name (253), rounded up. */
export const LOGIN_MAX_LENGTH = 320;

export function parseLogin(login: string): ParsedLogin | null {
  if (login.length === 0 || login.length > LOGIN_MAX_LENGTH) return null;
  // Control characters and whitespace never belong in a login name; refusing them here keeps them
  // out of logs, helper-program protocol lines and file names.
  if (/[\s\x00-\x1f\x7f]/.test(login)) return null;
  const at = login.lastIndexOf('@');
  if (at === 0 || at === login.length - 1) return null;
  const name = (at < 0 ? login : login.slice(0, at)).toLowerCase();
  const domain = at < 0 ? null : login.slice(at + 1).toLowerCase();
  return { name, domain };
}
