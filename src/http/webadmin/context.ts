/**
 * What every WebAdmin page shares: the session behind the cookie, the actor built from it (rights
 * read afresh on every request, so a right taken away stops working at once), the CSRF check of
 * every POST, the navigation, and the mapping of service errors to pages. Pages never check
 * rights: they call AdminService, which does (R5), and show its refusals.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MailwardError } from '../../core/errors.js';
import type { AdminService, Actor } from '../../admin/service.js';
import type { DomainSecurityService } from '../../admin/domain-security.js';
import type { AuthEngine } from '../../auth/engine.js';
import type { Directory } from '../../directory/directory.js';
import type { Right } from '../../directory/rights.js';
import type { TestCertificate } from '../../tls/test-certificate.js';
import { parseCookies, serializeCookie } from '../common/cookies.js';
import { Form } from '../common/form.js';
import { html, type HtmlValue, type SafeHtml } from '../common/html.js';
import { frame, type Flash, type NavSection } from '../common/layout.js';
import { connectionOf, type ConnInfo } from '../common/listeners.js';
import type { LoginHistory } from '../common/login-history.js';
import { sameToken, SessionStore, type WebSession } from '../common/sessions.js';
import { logRequestError, sendHtml, seeOther } from '../common/app.js';

/** What changed, so the server can apply it without a restart (the TLS resolver's domain list
 *  after a key or certificate change; listeners after a Listeners change). */
export type WebChange =
  | { kind: 'server' }
  | { kind: 'domain'; domain: string }
  | { kind: 'domains' };

export interface WebAdminDeps {
  admin: AdminService;
  security: DomainSecurityService;
  /** Read-only uses: the effective rights of the logged-in account (to build its Actor) and the
   *  revision of an object a page shows, read after the service allowed the read. */
  directory: Directory;
  /** The web login goes through the engine (mode HTTP). */
  engine: AuthEngine;
  history: LoginHistory;
  /** Called after a change was stored. */
  onChange?: (change: WebChange) => void | Promise<void>;
  testCertificate?: () => TestCertificate | undefined;
}

export interface AdminSessionData { domain: string; account: string }

export const ADMIN_COOKIE = { secure: '__Host-mw-admin', clear: 'mw-admin' } as const;
export const LOGIN_COOKIE = { secure: '__Host-mw-admin-login', clear: 'mw-admin-login' } as const;

export function cookieName(names: { secure: string; clear: string }, conn: ConnInfo): string {
  return conn.secure ? names.secure : names.clear;
}

export interface Ctx {
  req: FastifyRequest;
  reply: FastifyReply;
  conn: ConnInfo;
  session: WebSession<AdminSessionData>;
  actor: Extract<Actor, { kind: 'account' }>;
  rights: ReadonlySet<Right>;
  form: Form;
  deps: WebAdminDeps;
}

export class PageError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Maps a service error to a status and a message an administrator can act on. Unknown and
 *  forbidden domains already look the same when they come from the service. */
export function describeError(e: unknown): { status: number; text: string } | null {
  if (e instanceof PageError) return { status: e.status, text: e.message };
  if (!(e instanceof MailwardError)) return null;
  switch (e.code) {
    case 'directory.refused': return { status: 403, text: `Not allowed: ${e.message.replace(/^not allowed: /, '')}` };
    case 'directory.notFound': case 'store.notFound': return { status: 404, text: `Not found: ${e.message}` };
    case 'store.conflict': return { status: 409, text: 'These settings were changed by someone else since this page was shown. The page now shows the current values: check them and save again.' };
    case 'directory.exists': case 'store.exists': return { status: 409, text: e.message };
    case 'settings.invalid': case 'settings.unknown': case 'name.invalid': return { status: 400, text: e.message };
    default: return null;
  }
}

export function nav(rights: ReadonlySet<Right>, actor: Ctx['actor'], mainDomain: string): NavSection[] {
  const server = rights.has('ServerSettings') || rights.has('Monitor');
  const accountsWide = rights.has('UserAccounts') || rights.has('Monitor');
  const sections: NavSection[] = [];
  if (server) {
    sections.push({ title: 'Settings', items: [
      { href: '/settings/general', label: 'General' },
      { href: '/settings/obscure', label: 'Obscure' },
      { href: '/settings/helpers', label: 'Helpers' },
      { href: '/settings/protection', label: 'Protection' },
      { href: '/listeners', label: 'Listeners' },
    ] });
  }
  const users: NavSection = { title: 'Users', items: [] };
  if (server || accountsWide || rights.has('UserAccounts')) users.items.push({ href: '/domains', label: 'Domains' });
  else if (rights.has('DomainAdmin')) users.items.push({ href: `/domains/${encodeURIComponent(actor.domain)}`, label: `Domain ${actor.domain}` });
  if (accountsWide) users.items.push({ href: '/account-defaults', label: 'Default Account Settings' });
  if (rights.has('Master') || rights.has('Monitor') || rights.has('UserAccounts')) users.items.push({ href: '/rights', label: 'Access Rights' });
  if (users.items.length) sections.push(users);
  void mainDomain;
  return sections;
}

export interface Rendered { title: string; body: HtmlValue; status?: number; flash?: Flash | Flash[] | null; refreshSeconds?: number }

export async function renderPage(c: Ctx, p: Rendered): Promise<FastifyReply> {
  const flashes: Flash[] = [];
  if (c.session.flash) { flashes.push({ kind: c.session.flash.kind, text: c.session.flash.text }); delete c.session.flash; }
  if (p.flash) flashes.push(...(Array.isArray(p.flash) ? p.flash : [p.flash]));
  const main = await c.deps.admin.mainDomainName(c.actor);
  return sendHtml(c.reply, p.status ?? c.reply.statusCode, frame({
    title: p.title, product: 'WebAdmin', user: `${c.actor.account}@${c.actor.domain}`, csrf: c.session.csrf,
    nav: nav(c.rights, c.actor, main), here: c.req.url.split('?')[0] ?? '/', flash: flashes, body: p.body,
    ...(p.refreshSeconds !== undefined ? { refreshSeconds: p.refreshSeconds } : {}),
  }));
}

/** A hidden CSRF field for a form of this session. */
export function csrfField(c: Ctx): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${c.session.csrf}">`;
}

export function redirectWith(c: Ctx, location: string, flash?: { kind: 'ok' | 'error'; text: string }): FastifyReply {
  if (flash) c.session.flash = flash;
  return seeOther(c.reply, location);
}

export type Handler = (c: Ctx) => Promise<FastifyReply>;

/**
 * Wraps a page: finds the session (else to the login page), builds the actor, checks the CSRF
 * token of a POST (a missing or wrong token is refused before anything runs), and turns expected
 * service errors into an error page.
 */
export function authed(deps: WebAdminDeps, sessions: SessionStore<AdminSessionData>, h: Handler) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const session = sessions.get(parseCookies(req.headers.cookie).get(cookieName(ADMIN_COOKIE, conn)));
    if (!session) {
      if (req.method === 'POST') return sendHtml(reply, 403, html`<p>Your session has ended. <a href="/login">Log in again</a>.</p>`);
      return seeOther(reply, '/login');
    }
    const rights = await deps.directory.effectiveRights(session.data.domain, session.data.account);
    if (rights.size === 0) {
      // The account lost its last right (or was deleted): the session ends with it.
      sessions.destroy(session.id);
      return seeOther(reply, '/login');
    }
    const form = req.form;
    if (req.method === 'POST' && !sameToken(form.get('_csrf'), session.csrf)) {
      return sendHtml(reply, 403, html`<p>This form did not come from this session (missing or wrong CSRF token). Nothing was changed. <a href="/">Back</a></p>`);
    }
    const c: Ctx = {
      req, reply, conn, session, form, deps, rights,
      actor: { kind: 'account', domain: session.data.domain, account: session.data.account, rights },
    };
    try {
      return await h(c);
    } catch (e) {
      const d = describeError(e);
      if (!d) { logRequestError(req, e); return renderPage(c, { title: 'Error', status: 500, body: html`<h1>Something went wrong</h1><p class="lead">The error was logged. Try again, or look at the server log.</p>` }); }
      return renderPage(c, { title: d.status === 404 ? 'Not found' : d.status === 403 ? 'Not allowed' : 'Error', status: d.status,
        body: html`<h1>${d.status === 404 ? 'Not found' : d.status === 403 ? 'Not allowed' : 'Cannot do that'}</h1><div class="flash error">${d.text}</div><p><a href="/">Back to the start page</a></p>` });
    }
  };
}

/** Runs a change; on an expected error re-renders the page with the message (and the values the
 *  administrator typed), otherwise redirects with a confirmation. */
export async function change(c: Ctx, run: () => Promise<string | void>, okLocation: string, rerender: (flash: Flash) => Promise<FastifyReply>): Promise<FastifyReply> {
  try {
    const msg = await run();
    return redirectWith(c, okLocation, { kind: 'ok', text: msg || 'Saved.' });
  } catch (e) {
    const d = describeError(e);
    if (!d) throw e;
    c.reply.code(d.status);
    return rerender({ kind: 'error', text: d.text });
  }
}

export async function notify(c: Ctx, ch: WebChange): Promise<void> {
  try { await c.deps.onChange?.(ch); } catch (e) { logRequestError(c.req, e); }
}

export const enc = encodeURIComponent;

export function cookieHeader(name: string, value: string, conn: ConnInfo, maxAge?: number): string {
  return serializeCookie(name, value, { secure: conn.secure, ...(maxAge !== undefined ? { maxAge } : {}) });
}
