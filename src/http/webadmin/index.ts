/**
 * WebAdmin (W1): the administration pages, rendered on the server, usable without JavaScript.
 */
import { createWebApp, type WebApp } from '../common/app.js';
import { SessionStore, type SessionStoreOptions } from '../common/sessions.js';
import type { AdminSessionData, WebAdminDeps } from './context.js';
import { registerLogin } from './login.js';
import { registerServerPages } from './pages-server.js';
import { registerDomainPages } from './pages-domains.js';
import { registerSecurityPages } from './pages-security.js';

export type { WebAdminDeps, WebChange } from './context.js';

export interface WebAdminApp extends WebApp { sessions: SessionStore<AdminSessionData> }

export function buildWebAdmin(deps: WebAdminDeps, opts: { sessions?: SessionStoreOptions } = {}): WebAdminApp {
  const { app, http } = createWebApp();
  const sessions = new SessionStore<AdminSessionData>(opts.sessions);
  registerLogin(app, deps, sessions);
  registerServerPages(app, deps, sessions);
  registerDomainPages(app, deps, sessions);
  registerSecurityPages(app, deps, sessions);
  return { app, http, sessions };
}
