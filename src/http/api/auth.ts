/**
 * HTTP Basic for the API (A5), through the authentication engine with mode CLI, so client
 * addresses (N2), lock-out (H2), Secure Method Required (A7) and Hide Unknown (H1) apply to every
 * request. Basic sends the password in clear, so it is taken only over TLS, or on the clear admin
 * listener of the server itself (loopback to loopback, the listener allowing clear text): the same
 * rule as A8 for the other protocols.
 */
import type { AuthEngine } from '../../auth/engine.js';
import { isLoopback } from '../../access/addresses.js';
import type { Actor, AdminService } from '../../admin/service.js';
import { decodeBase64Strict } from '../../core/base64.js';
import type { ApiFailure } from './errors.js';

/** What the API needs to know about the connection a request came on (after PROXY, N4). */
export interface ApiConnection {
  client: string;
  local: string;
  secure: boolean;
  /** The listener's ClearTextLogin setting. */
  clearTextLogin: 'always' | 'tls-only';
}

/** Longest Authorization header value read: a long `name@domain` and a password the password
 *  module would accept fit in 4 KiB of base64; more is not a credential. */
export const BASIC_MAX_HEADER = 4096;

/** The realm of the challenge; charset per RFC 7617 §2.1 (names and passwords are UTF-8). */
export const BASIC_CHALLENGE = 'Basic realm="Mailward API", charset="UTF-8"';

/** A8 for the API: Basic only over TLS, or between loopback addresses on a listener that allows
 *  clear text (the default 127.0.0.1:8010 admin listener). */
export function mayUseBasic(c: ApiConnection): boolean {
  return c.secure || (c.clearTextLogin === 'always' && isLoopback(c.local) && isLoopback(c.client));
}

export type BasicCredentials = { login: string; password: Buffer };

/** RFC 7617: `Basic base64(user-id ":" password)`; the user-id has no colon. */
export function parseBasic(header: string | undefined): BasicCredentials | 'absent' | 'malformed' {
  if (header === undefined || header === '') return 'absent';
  if (header.length > BASIC_MAX_HEADER) return 'malformed';
  const m = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!m) return /^Basic\b/i.test(header) ? 'malformed' : 'absent';
  const raw = decodeBase64Strict(m[1] as string);
  if (!raw) return 'malformed';
  const colon = raw.indexOf(0x3a);
  if (colon <= 0) return 'malformed';
  let login: string;
  try {
    login = new TextDecoder('utf-8', { fatal: true }).decode(raw.subarray(0, colon));
  } catch {
    return 'malformed';
  }
  if (/[\0-\x1f\x7f]/.test(login)) return 'malformed';
  return { login, password: Buffer.from(raw.subarray(colon + 1)) };
}

export type ApiAuth =
  | { ok: true; actor: Extract<Actor, { kind: 'account' }> }
  | { ok: false; failure: ApiFailure; challenge: boolean; close: boolean };

const fail = (status: number, code: ApiFailure['code'], message: string, challenge: boolean, close = false): ApiAuth =>
  ({ ok: false, failure: { status, code, message }, challenge, close });

export async function authenticateBasic(engine: AuthEngine, admin: AdminService, conn: ApiConnection, header: string | undefined): Promise<ApiAuth> {
  // Checked before the header is even read: over a clear link the credentials are already
  // exposed, and no challenge is sent that would make a browser ask for them again.
  if (!mayUseBasic(conn)) return fail(401, 'auth.tlsRequired', 'the API takes passwords only over HTTPS', false);
  const creds = parseBasic(header);
  if (creds === 'absent') return fail(401, 'auth.required', 'HTTP Basic authentication required', true);
  if (creds === 'malformed') return fail(401, 'auth.required', 'malformed Authorization header', true);
  const o = await engine.authenticate({
    login: creds.login, method: 'HTTP-BASIC', mode: 'CLI', client: conn.client, local: conn.local, secure: conn.secure,
    clearText: true, credential: { type: 'password', password: creds.password },
  });
  creds.password.fill(0);
  switch (o.status) {
    case 'ok': {
      const rights = await admin.directory.effectiveRights(o.domain, o.account);
      return { ok: true, actor: { kind: 'account', domain: o.domain, account: o.account, rights } };
    }
    case 'bad-credentials': case 'unknown': return fail(401, 'auth.failed', 'incorrect user name or password', true);
    case 'locked': return fail(401, 'auth.locked', 'the account is temporarily suspended after failed logins', true);
    case 'disabled': return fail(401, 'auth.disabled', 'API access is not enabled for this account', true);
    case 'secure-method-required': return fail(401, 'auth.secureMethodRequired', 'this account requires a secure method: use HTTPS', false);
    // N2: "others get an error and the connection is closed".
    case 'not-client-address': return fail(401, 'auth.notClientAddress', 'logins are not accepted from your address', false, true);
    case 'temporary-failure': return fail(503, 'auth.unavailable', 'authentication is temporarily unavailable, try again later', false);
  }
}
