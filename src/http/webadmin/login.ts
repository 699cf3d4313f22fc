/**
 * WebAdmin login and logout. The login form is protected by a double-submit token (a random value
 * in a SameSite=Strict cookie and in the form), so another site cannot log a browser in under the
 * attacker's account. A successful login always mints a new session id: whatever session cookie the
 * browser brought (one an attacker planted, W1 "no fixation") is discarded, never adopted.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseCookies } from '../common/cookies.js';
import { html } from '../common/html.js';
import { plainFrame, flashes, type Flash } from '../common/layout.js';
import { connectionOf, type ConnInfo } from '../common/listeners.js';
import { webLogin } from '../common/login.js';
import { randomToken, sameToken, type SessionStore } from '../common/sessions.js';
import { sendHtml, seeOther } from '../common/app.js';
import { ADMIN_COOKIE, cookieHeader, cookieName, LOGIN_COOKIE, type AdminSessionData, type WebAdminDeps } from './context.js';

function loginPage(reply: FastifyReply, conn: ConnInfo, status: number, flash: Flash | null, login = ''): FastifyReply {
  const token = randomToken();
  reply.header('Set-Cookie', cookieHeader(cookieName(LOGIN_COOKIE, conn), token, conn));
  return sendHtml(reply, status, plainFrame('Log in', html`<form class="login-box" method="post" action="/login">
<h1>Mailward WebAdmin</h1><p class="lead">Server administration</p>${flashes(flash)}
${!conn.secure ? html`<div class="flash warn">This connection is not encrypted.</div>` : ''}
<input type="hidden" name="_login" value="${token}">
<label for="login">Account</label><input id="login" type="text" name="login" value="${login}" autocomplete="username" autofocus required>
<label for="password">Password</label><input id="password" type="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
<p class="foot">Log in as an account with administration rights, e.g. postmaster.</p></form>`));
}

export function registerLogin(app: FastifyInstance, deps: WebAdminDeps, sessions: SessionStore<AdminSessionData>): void {
  app.get('/login', async (req: FastifyRequest, reply: FastifyReply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    return loginPage(reply, conn, 200, null);
  });

  app.post('/login', async (req: FastifyRequest, reply: FastifyReply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const cookies = parseCookies(req.headers.cookie);
    const form = req.form;
    const login = form.get('login');
    if (!sameToken(form.get('_login'), cookies.get(cookieName(LOGIN_COOKIE, conn)))) {
      return loginPage(reply, conn, 403, { kind: 'error', text: 'The login form expired or did not come from this site. Try again.' }, login);
    }
    // Fixation: the session the browser brought, whatever it is, ends here.
    sessions.destroy(cookies.get(cookieName(ADMIN_COOKIE, conn)));
    const r = await webLogin({
      engine: deps.engine, conn, login, password: form.get('password'), history: deps.history, via: 'WebAdmin',
      resolve: async (l) => { const x = await deps.directory.resolveLogin(l, conn.local); return x.kind === 'account' ? x : null; },
    });
    if (!r.ok) {
      if (r.closeConnection) reply.header('Connection', 'close');
      return loginPage(reply, conn, r.status, { kind: 'error', text: r.message }, login);
    }
    const { domain, account } = r.outcome;
    const rights = await deps.directory.effectiveRights(domain, account);
    if (rights.size === 0) {
      return loginPage(reply, conn, 403, { kind: 'error', text: 'This account holds no administration rights. Use WebUser to manage your own account.' }, login);
    }
    const s = sessions.create({ domain, account });
    reply.header('Set-Cookie', [
      cookieHeader(cookieName(ADMIN_COOKIE, conn), s.id, conn),
      cookieHeader(cookieName(LOGIN_COOKIE, conn), '', conn, 0),
    ]);
    return seeOther(reply, '/');
  });

  app.post('/logout', async (req: FastifyRequest, reply: FastifyReply) => {
    const conn = connectionOf(req.raw);
    if (!conn) return reply.code(500).send();
    const id = parseCookies(req.headers.cookie).get(cookieName(ADMIN_COOKIE, conn));
    const s = sessions.get(id);
    // Logging out needs the CSRF token too: otherwise any page could log an admin out at will.
    if (s && sameToken(req.form.get('_csrf'), s.csrf)) sessions.destroy(s.id);
    else if (s) return sendHtml(reply, 403, html`<p>Missing or wrong CSRF token. <a href="/">Back</a></p>`);
    reply.header('Set-Cookie', cookieHeader(cookieName(ADMIN_COOKIE, conn), '', conn, 0));
    return seeOther(reply, '/login');
  });
}
