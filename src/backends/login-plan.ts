/**
 * How to log in to a backend for one user, decided from the domain settings and the client's
 * authentication (B1), and shared by the IMAP, POP3 and SMTP relays. Passwords travel wrapped in
 * `Secret` so that no log call can print them by accident.
 */
import { Secret } from '../core/log.js';
import type { DomainSettings } from '../settings/schema.js';
import type { BackendRequest } from './connector.js';

export type LoginMethod =
  /** The user's own credentials: only possible when the client sent its password in clear. */
  | { kind: 'passthrough'; authcid: string; password: Secret<Buffer> }
  /** Dovecot-style master user: SASL PLAIN with authzid = user, authcid = master. */
  | { kind: 'master-authzid'; master: string; password: Secret<Buffer> }
  /** `user*master` as the login name with the master password (IMAP LOGIN, POP3 USER/PASS). */
  | { kind: 'master-separator'; login: string; password: Secret<Buffer> };

export interface LoginPlan {
  /** The backend user to be: the authorization identity when the client acted for another
   *  account, else the authenticated account, as name@domain. */
  user: string;
  method: LoginMethod;
}

export type PlanResult = { ok: true; plan: LoginPlan } | { ok: false; reason: string };

export function backendUser(login: BackendRequest['login']): string {
  if (login.authzAccount !== undefined && login.authzAccount !== '') return `${login.authzAccount}@${login.authzDomain ?? login.domain}`;
  return `${login.account}@${login.domain}`;
}

export function planLogin(req: BackendRequest, s: DomainSettings): PlanResult {
  const user = backendUser(req.login);
  if (s.BackendLogin === 'passthrough') {
    if (!req.password || req.password.length === 0) {
      // A secure mechanism never gave us the password: only a master user can log in for it.
      return { ok: false, reason: 'pass-through login needs a clear-text client login; configure a master user' };
    }
    return { ok: true, plan: { user, method: { kind: 'passthrough', authcid: `${req.login.account}@${req.login.domain}`, password: new Secret(Buffer.from(req.password)) } } };
  }
  if (s.BackendMasterUser === '' || s.BackendMasterPassword === '') return { ok: false, reason: 'master login without a master user or password' };
  const password = new Secret(Buffer.from(s.BackendMasterPassword, 'utf8'));
  if (s.BackendMasterStyle === 'separator') {
    if (s.BackendMasterSeparator === '') return { ok: false, reason: 'master separator is empty' };
    return { ok: true, plan: { user, method: { kind: 'master-separator', login: `${user}${s.BackendMasterSeparator}${s.BackendMasterUser}`, password } } };
  }
  return { ok: true, plan: { user, method: { kind: 'master-authzid', master: s.BackendMasterUser, password } } };
}

/** The SASL PLAIN message for a plan (RFC 4616): authzid NUL authcid NUL password. Null when a
 *  field holds a NUL (it would shift the fields: a smuggling attempt, refused). */
export function plainMessage(plan: LoginPlan): Buffer | null {
  const m = plan.method;
  let authzid: string;
  let authcid: string;
  if (m.kind === 'passthrough') {
    authzid = plan.user === m.authcid ? '' : plan.user;
    authcid = m.authcid;
  } else if (m.kind === 'master-authzid') {
    authzid = plan.user;
    authcid = m.master;
  } else {
    authzid = '';
    authcid = m.login;
  }
  const pw = m.password.reveal();
  if (authzid.includes('\0') || authcid.includes('\0') || pw.includes(0)) return null;
  return Buffer.concat([Buffer.from(`${authzid}\0${authcid}\0`, 'utf8'), pw]);
}

/** The name and password of a plain LOGIN / USER+PASS for a plan; null when the plan needs
 *  an authorization identity, which only SASL PLAIN can carry. */
export function loginPair(plan: LoginPlan): { name: string; password: Secret<Buffer> } | null {
  const m = plan.method;
  if (m.kind === 'passthrough') return m.authcid === plan.user ? { name: m.authcid, password: m.password } : null;
  if (m.kind === 'master-separator') return { name: m.login, password: m.password };
  return null;
}
