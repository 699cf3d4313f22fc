/**
 * WebUser (W2, T9, P5): a login page per domain, chosen by the host name the browser asked for
 * (a domain or one of its aliases; an unknown host gets the main domain), with the domain's
 * "Secure Certificate" link when it presents one; after login the user changes the own password
 * (also after logging in with the OS or External password: that is how a site moves users to
 * their own passwords, P5) and sees the last logins of the account.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthEngine } from '../../auth/engine.js';
import type { PasswordService } from '../../auth/password-service.js';
import { isMailwardError } from '../../core/errors.js';
import type { Directory } from '../../directory/directory.js';
import { certificateDownload, type DownloadFormat } from '../../tls/download.js';
import type { TestCertificate } from '../../tls/test-certificate.js';
import { normalizeHostname } from '../../tls/names.js';
import { createWebApp, sendHtml, seeOther, type WebApp } from '../common/app.js';
import { parseCookies, serializeCookie } from '../common/cookies.js';
import { html, type SafeHtml } from '../common/html.js';
import { flashes, plainFrame, type Flash } from '../common/layout.js';
import { connectionOf, type ConnInfo } from '../common/listeners.js';
import { LOGIN_MESSAGES, WEB_PASSWORD_MAX_LENGTH, webLogin } from '../common/login.js';
import type { LoginHistory } from '../common/login-history.js';
import { randomToken, sameToken, SessionStore, type SessionStoreOptions, type WebSession } from '../common/sessions.js';

export interface WebUserDeps {
  directory: Directory;
  engine: AuthEngine;
  passwords: PasswordService;
  history: LoginHistory;
  testCertificate?: () => TestCertificate | undefined;
}

export interface UserSessionData { domain: string; account: string; source: 'own' | 'os' | 'external' }

export const USER_COOKIE = { secure: '__Host-mw-user', clear: 'mw-user' } as const;
export const USER_LOGIN_COOKIE = { secure: '__Host-mw-user-login', clear: 'mw-user-login' } as const;

/** Last logins shown on the page: the ring keeps more for the record. */
const HISTORY_SHOWN = 10;

const cname = (n: { secure: string; clear: string }, conn: ConnInfo) => (conn.secure ? n.secure : n.clear);
const cookie = (name: string, value: string, conn: ConnInfo, maxAge?: number) => serializeCookie(name, value, { secure: conn.secure, ...(maxAge !== undefined ? { maxAge } : {}) });

/** The host name of a Host header (without the port; IPv6 literals have no domain). */
export function hostOf(header: string | undefined): string | null {
  if (!header || header.startsWith('[')) return null;
  return normalizeHostname(header.replace(/:\d{1,5}$/, ''));
}

export interface WebUserApp extends WebApp { sessions: SessionStore<UserSessionData> }

export function buildWebUser(deps: WebUserDeps, opts: { sessions?: SessionStoreOptions } = {}): WebUserApp {
  const { app, http } = createWebApp();
  const sessions = new SessionStore<UserSessionData>(opts.sessions);
  register(app, deps, sessions);
  return { app, http, sessions };
}

/** The domain a page is for: the Host header's domain or alias, else the main domain. */
async function siteDomain(deps: WebUserDeps, req: FastifyRequest): Promise<string> {
  const h = hostOf(req.headers.host);
  return (h ? await deps.directory.findDomain(h) : null) ?? (await deps.directory.mainDomain());
}

async function download(deps: WebUserDeps, domain: string, format: DownloadFormat) {
  const s = (await deps.directory.domainSettings(domain)).values;
  const mode = s.CertificateMode === 'Custom' ? 'custom' : s.CertificateMode === 'Test' ? 'test' : 'no';
  return certificateDownload({ name: domain, mode, certPem: s.Certificate, chainPem: s.CAChain }, format, deps.testCertificate?.());
}

function register(app: FastifyInstance, deps: WebUserDeps, sessions: SessionStore<UserSessionData>): void {
  const loginPage = async (req: FastifyRequest, reply: FastifyReply, conn: ConnInfo, status: number, flash: Flash | null, login = '') => {
    const domain = await siteDomain(deps, req);
    const hasCert = (await download(deps, domain, 'der')) !== null;
    const token = randomToken();
    reply.header('Set-Cookie', cookie(cname(USER_LOGIN_COOKIE, conn), token, conn));
    return sendHtml(reply, status, plainFrame(`Log in to ${domain}`, html`<form class="login-box" method="post" action="/login">
<h1>${domain}</h1><p class="lead">Mail account</p>${flashes(flash)}
${!conn.secure ? html`<div class="flash warn">This connection is not encrypted.</div>` : ''}
<input type="hidden" name="_login" value="${token}">
<label for="login">Account name</label><input id="login" type="text" name="login" value="${login}" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
${hasCert ? html`<p class="foot"><a href="/certificate.crt" download>Secure Certificate</a> · <a href="/certificate.pem" download>PEM</a></p>` : ''}</form>`));
  };

  const current = (req: FastifyRequest, conn: ConnInfo): WebSession<UserSessionData> | null =>
    sessions.get(parseCookies(req.headers.cookie).get(cname(USER_COOKIE, conn)));

  const home = async (reply: FastifyReply, s: WebSession<UserSessionData>, status = 200, flash: Flash | null = null): Promise<FastifyReply> => {
    const { domain, account } = s.data;
    const f: Flash[] = [];
    if (s.flash) { f.push(s.flash); delete s.flash; }
    if (flash) f.push(flash);
    const eff = (await deps.directory.effectiveAccountSettings(domain, account)).values;
    const logins = deps.history.list(domain, account).slice(0, HISTORY_SHOWN);
    const migrate = s.data.source !== 'own';
    const body: SafeHtml = html`<header class="top"><span class="brand">Mailward <span>WebUser</span></span><div class="who"><span>${account}@${domain}</span>
<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit">Log out</button></form></div></header>
<main class="user">${flashes(f)}<h1>${account}<small>@${domain}</small></h1><p class="lead">${eff.RealName}</p>
<div class="grid2"><div class="card"><h2>Change password</h2>
${migrate ? html`<div class="flash warn">You logged in with your ${s.data.source === 'os' ? 'system (OS)' : 'external'} password. Set your own mail password here; you can keep using it when the old one is retired.</div>` : ''}
${!eff.UseAppPassword ? html`<p class="muted">Note: this server does not use the own password of your account for logins yet (Use Mailward Password is off).</p>` : ''}
<form method="post" action="/password"><input type="hidden" name="_csrf" value="${s.csrf}">
<p><label for="cur">Current password</label><br><input id="cur" type="password" name="current" autocomplete="current-password" required></p>
<p><label for="new1">New password</label><br><input id="new1" type="password" name="password" autocomplete="new-password" required></p>
<p><label for="new2">New password again</label><br><input id="new2" type="password" name="password2" autocomplete="new-password" required></p>
<div class="actions"><button type="submit">Change password</button></div></form></div>
<div class="card"><h2>Last logins</h2><table><tr><th>When (UTC)</th><th>From</th><th>Where</th><th>Result</th></tr>
${logins.map((l) => html`<tr><td>${new Date(l.at).toISOString().replace('T', ' ').slice(0, 19)}</td><td>${l.client}</td><td>${l.via}</td><td>${l.ok ? html`<span class="badge ok">ok</span>` : html`<span class="badge bad">failed</span>`} <span class="muted">${l.detail}</span></td></tr>`)}</table>
<p class="muted">Kept by this server process since it started.</p></div></div></main>`;
    return sendHtml(reply, status, html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${account}@${domain} · Mailward</title><link rel="stylesheet" href="/style.css"></head><body>${body}</body></html>`);
  };

  app.get('/', async (req, reply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const s = current(req, conn);
    if (!s) return loginPage(req, reply, conn, 200, null);
    try {
      return await home(reply, s);
    } catch (e) {
      // The account was deleted or renamed while logged in: its session ends with it.
      if (!isMailwardError(e, 'directory.notFound')) throw e;
      sessions.destroy(s.id);
      return loginPage(req, reply, conn, 200, null);
    }
  });

  app.get('/login', async (_req, reply) => seeOther(reply, '/'));

  app.post('/login', async (req, reply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const cookies = parseCookies(req.headers.cookie);
    const form = req.form;
    const name = form.get('login').trim();
    if (!sameToken(form.get('_login'), cookies.get(cname(USER_LOGIN_COOKIE, conn)))) {
      return loginPage(req, reply, conn, 403, { kind: 'error', text: 'The login form expired or did not come from this site. Try again.' }, name);
    }
    sessions.destroy(cookies.get(cname(USER_COOKIE, conn)));
    const domain = await siteDomain(deps, req);
    // A bare name logs in to the domain of this page (W2: a login page per domain).
    const login = name.includes('@') ? name : `${name}@${domain}`;
    const r = await webLogin({
      engine: deps.engine, conn, login, password: form.get('password'), history: deps.history, via: 'WebUser',
      resolve: async (l) => { const x = await deps.directory.resolveLogin(l, conn.local); return x.kind === 'account' ? x : null; },
    });
    if (!r.ok) {
      if (r.closeConnection) reply.header('Connection', 'close');
      return loginPage(req, reply, conn, r.status, { kind: 'error', text: r.message }, name);
    }
    const s = sessions.create({ domain: r.outcome.domain, account: r.outcome.account, source: r.outcome.source });
    reply.header('Set-Cookie', [cookie(cname(USER_COOKIE, conn), s.id, conn), cookie(cname(USER_LOGIN_COOKIE, conn), '', conn, 0)]);
    return seeOther(reply, '/');
  });

  app.post('/logout', async (req, reply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const s = current(req, conn);
    if (s && !sameToken(req.form.get('_csrf'), s.csrf)) return sendHtml(reply, 403, html`<p>Missing or wrong CSRF token. <a href="/">Back</a></p>`);
    if (s) sessions.destroy(s.id);
    reply.header('Set-Cookie', cookie(cname(USER_COOKIE, conn), '', conn, 0));
    return seeOther(reply, '/');
  });

  app.post('/password', async (req, reply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const s = current(req, conn);
    if (!s) return seeOther(reply, '/');
    const form = req.form;
    if (!sameToken(form.get('_csrf'), s.csrf)) return sendHtml(reply, 403, html`<p>This form did not come from this session (missing or wrong CSRF token). Nothing was changed. <a href="/">Back</a></p>`);
    const pw = form.get('password');
    if (pw !== form.get('password2')) return home(reply, s, 400, { kind: 'error', text: 'The two new passwords differ.' });
    if (pw.length > WEB_PASSWORD_MAX_LENGTH) return home(reply, s, 400, { kind: 'error', text: 'The new password is too long.' });
    // The current password is asked again (any source: own, OS or external), through the engine,
    // so a session left open cannot be used to take the account over, and guesses count toward
    // the lock-out like any other failed login.
    const cur = form.get('current');
    if (cur === '' || cur.length > WEB_PASSWORD_MAX_LENGTH) return home(reply, s, 400, { kind: 'error', text: 'Enter your current password.' });
    const o = await deps.engine.authenticate({
      login: `${s.data.account}@${s.data.domain}`, method: 'HTTP-FORM', mode: 'HTTP', client: conn.client, local: conn.local, secure: conn.secure,
      clearText: true, credential: { type: 'password', password: Buffer.from(cur, 'utf8') },
    });
    if (o.status !== 'ok' || o.account !== s.data.account || o.domain !== s.data.domain) {
      const text = o.status === 'ok' ? LOGIN_MESSAGES['bad-credentials'] : o.status === 'bad-credentials' || o.status === 'unknown' ? 'The current password is not correct.' : LOGIN_MESSAGES[o.status];
      return home(reply, s, o.status === 'temporary-failure' ? 503 : 403, { kind: 'error', text });
    }
    try {
      await deps.passwords.changeOwnPassword(o, pw);
    } catch (e) {
      if (isMailwardError(e, 'settings.invalid')) return home(reply, s, 400, { kind: 'error', text: e.message.charAt(0).toUpperCase() + e.message.slice(1) + '.' });
      throw e;
    }
    s.flash = { kind: 'ok', text: 'Your password was changed.' };
    return seeOther(reply, '/');
  });

  const certRoute = (format: DownloadFormat) => async (req: FastifyRequest, reply: FastifyReply) => {
    const d = await download(deps, await siteDomain(deps, req), format);
    if (!d) return reply.code(404).type('text/plain').send('This domain has no certificate.');
    reply.header('Cache-Control', 'no-cache');
    reply.header('Content-Disposition', `attachment; filename="${d.filename}"`);
    return reply.type(d.contentType).send(d.body);
  };
  app.get('/certificate.crt', certRoute('der'));
  app.get('/certificate.pem', certRoute('pem'));
}
