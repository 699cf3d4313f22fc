/**
 * The web services of a running server: WebAdmin on the HTTPA listeners and WebUser on the HTTPU
 * listeners (defaults 9010 implicit TLS and 8010 clear on loopback; 9100 implicit TLS), with the
 * CLI/JSON API (src/http/api: /api/v1/<Command>, /CLI/) mounted on the WebAdmin app. main.ts starts it once and calls
 * `apply` when the Listeners setting changes.
 *
 * ```ts
 * const web = await startWebServers({ admin, security, directory, engine, passwords, resolver,
 *   history: new LoginHistory(), testCertificate: () => test, onChange }, listeners);
 * web.addresses('HTTPA')            // bound addresses (the real port when 0 was configured)
 * await web.apply(newListeners)     // after a Listeners change; returns problems
 * await web.close()
 * ```
 */
import type { PasswordService } from '../../auth/password-service.js';
import type { ListenerConfig } from '../../settings/schema.js';
import type { TlsContextResolver } from '../../tls/context.js';
import { registerApiRoutes } from '../api/routes.js';
import { buildWebAdmin, type WebAdminApp } from '../webadmin/index.js';
import type { WebAdminDeps } from '../webadmin/context.js';
import { buildWebUser, type WebUserApp } from '../webuser/index.js';
import { WebListeners, type ListenerAddress, type WebService } from './listeners.js';
import type { SessionStoreOptions } from './sessions.js';

export interface WebServerDeps extends WebAdminDeps {
  passwords: PasswordService;
  resolver: TlsContextResolver;
  /** Mount the CLI/JSON API (src/http/api) on the WebAdmin app; default true. */
  api?: boolean;
  sessions?: SessionStoreOptions;
}

export interface WebServers {
  admin: WebAdminApp;
  user: WebUserApp;
  addresses(service: WebService): ListenerAddress[];
  /** Applies the HTTPA and HTTPU entries of a Listeners setting; returns the problems. */
  apply(listeners: Partial<Record<string, ListenerConfig[]>>): Promise<string[]>;
  close(): Promise<void>;
}

export async function startWebServers(deps: WebServerDeps, listeners: Partial<Record<string, ListenerConfig[]>>): Promise<WebServers> {
  const admin = buildWebAdmin(deps, deps.sessions ? { sessions: deps.sessions } : {});
  const user = buildWebUser(deps, deps.sessions ? { sessions: deps.sessions } : {});
  if (deps.api !== false) await registerApiRoutes(admin.app, { admin: deps.admin, engine: deps.engine });
  await admin.app.ready();
  await user.app.ready();
  const l = {
    HTTPA: new WebListeners({ service: 'HTTPA', http: admin.http, resolver: deps.resolver }),
    HTTPU: new WebListeners({ service: 'HTTPU', http: user.http, resolver: deps.resolver }),
  };
  const apply = async (ls: Partial<Record<string, ListenerConfig[]>>): Promise<string[]> => [
    ...(await l.HTTPA.apply(ls.HTTPA ?? [])),
    ...(await l.HTTPU.apply(ls.HTTPU ?? [])),
  ];
  const problems = await apply(listeners);
  if (problems.length && l.HTTPA.addresses().length + l.HTTPU.addresses().length === 0) {
    await Promise.all([l.HTTPA.close(), l.HTTPU.close()]);
    throw new Error(`no web listener could be opened: ${problems.join('; ')}`);
  }
  return {
    admin, user,
    addresses: (s) => l[s].addresses(),
    apply,
    async close() {
      await Promise.all([l.HTTPA.close(), l.HTTPU.close()]);
      await Promise.all([admin.app.close(), user.app.close()]);
    },
  };
}
