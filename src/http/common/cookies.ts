/**
 * Cookies, parsed and written here rather than through a plug-in: the one maintained for fastify
 * pulls in a `cookie` release that requires Node 22, and we need very little of it. A Cookie header
 * is attacker-controlled: it is bounded, and malformed pairs are skipped, never thrown on.
 */

/** Most cookie pairs read from one header: browsers send a few dozen at most; a header made of
 *  thousands of `a=b;` pairs must not cost more than this. */
export const COOKIE_MAX_PAIRS = 64;

/** Longest cookie value kept: our session ids are 43 characters; anything far longer is not ours. */
export const COOKIE_VALUE_MAX = 256;

/** The names and values of a Cookie header. The first occurrence of a name wins (RFC 6265 §5.4
 *  orders more specific paths first; our cookies all have Path=/). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  let n = 0;
  for (const part of header.split(';')) {
    if (++n > COOKIE_MAX_PAIRS) break;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value.length > COOKIE_VALUE_MAX) continue;
    if (!/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/.test(value)) continue;
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export interface CookieOptions {
  /** Secure and the __Host- prefix only on HTTPS: a browser drops a Secure cookie set over http. */
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Undefined: a session cookie (gone when the browser closes). */
  maxAge?: number;
}

/** A Set-Cookie value with the attributes W1 asks for: HttpOnly (no script can read it),
 *  SameSite=Strict (no other site can make the browser send it), Path=/, Secure on HTTPS. */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) parts.push('Secure');
  if (opts.maxAge !== undefined) parts.push(`Max-Age=${opts.maxAge}`);
  return parts.join('; ');
}
