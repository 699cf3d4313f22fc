/**
 * Server-wide pages (W1): Settings (General, Obscure: Login Security and TLS Sessions, Helpers:
 * External Authentication, Protection: client addresses), Listeners, the server-wide Default
 * Account Settings and the Access Rights overview. Every form carries the revision it showed; a
 * save against a newer revision is refused with "changed by someone else".
 */
import type { FastifyInstance } from 'fastify';
import { MailwardError } from '../../core/errors.js';
import { RIGHT_LABELS, type Right } from '../../directory/rights.js';
import { ACCOUNT_SETTINGS, SERVER_SETTINGS, SERVICES, type ListenerConfig, type Service } from '../../settings/schema.js';
import { dict, type CgDict } from '../../settings/format/types.js';
import { html, type SafeHtml } from '../common/html.js';
import type { Flash } from '../common/layout.js';
import type { Form } from '../common/form.js';
import type { SessionStore } from '../common/sessions.js';
import { OBJECT_SOURCES, settingsChange, settingsTable } from './settings-form.js';
import { authed, change, csrfField, enc, notify, redirectWith, renderPage, type AdminSessionData, type Ctx, type WebAdminDeps } from './context.js';

interface GroupPage { title: string; lead: string; groups: string[] }

export const SERVER_PAGES: Record<string, GroupPage> = {
  general: { title: 'General', lead: 'The main domain and the log levels of each module.', groups: ['General', 'Logs'] },
  obscure: { title: 'Obscure', lead: 'Login Security (which methods are offered, lock-out after failed logins) and TLS Sessions.', groups: ['Login Security', 'TLS Sessions'] },
  helpers: { title: 'Helpers', lead: 'The External Authentication program and the PAM service used for OS passwords.', groups: ['Helpers', 'OS Passwords'] },
  protection: { title: 'Protection', lead: 'The addresses of your own clients, and whether logins from anywhere else are refused.', groups: ['Protection'] },
};

export const ACCOUNT_KEYS = Object.keys(ACCOUNT_SETTINGS).filter((k) => k !== 'Password' && k !== 'ScramKeys');

function keysOf(schema: Record<string, { group: string }>, groups: readonly string[]): string[] {
  return Object.keys(schema).filter((k) => groups.includes(schema[k]?.group ?? ''));
}

async function revisionOf(c: Ctx, ref: Parameters<Ctx['deps']['directory']['get']>[0]): Promise<string> {
  return (await c.deps.directory.get(ref))?.revision ?? '';
}

/** For objects whose service method takes no expected revision: the same check, made just before
 *  the write (a narrow window remains; the service method is the place to close it). */
async function checkRevision(c: Ctx, ref: Parameters<Ctx['deps']['directory']['get']>[0]): Promise<void> {
  const shown = c.form.get('_rev');
  if ((await revisionOf(c, ref)) !== shown) throw new MailwardError('store.conflict');
}

function revField(rev: string): SafeHtml {
  return html`<input type="hidden" name="_rev" value="${rev}">`;
}

export function registerServerPages(app: FastifyInstance, deps: WebAdminDeps, sessions: SessionStore<AdminSessionData>): void {
  const page = (h: (c: Ctx) => Promise<import('fastify').FastifyReply>) => authed(deps, sessions, h);

  app.get('/', page(async (c) => {
    const r = c.rights;
    if (!r.has('Master') && !r.has('UserAccounts') && !r.has('ServerSettings') && !r.has('Monitor') && r.has('DomainAdmin')) {
      return redirectWith(c, `/domains/${enc(c.actor.domain)}`);
    }
    const main = await deps.admin.mainDomainName(c.actor);
    const domains = await deps.admin.listDomains(c.actor).catch(() => null);
    return renderPage(c, { title: 'Overview', body: html`<h1>Overview</h1><p class="lead">Mailward WebAdmin for <strong>${main}</strong>.</p>
<div class="grid2"><div class="card"><h2>Your rights</h2><ul>${[...r].map((x) => html`<li>${RIGHT_LABELS[x]}</li>`)}</ul></div>
<div class="card"><h2>Domains</h2>${domains ? html`<p>${domains.length} domain${domains.length === 1 ? '' : 's'}.</p><p><a class="button" href="/domains">Manage domains</a></p>` : html`<p class="muted">Not visible with your rights.</p>`}</div></div>` });
  }));

  for (const [slug, gp] of Object.entries(SERVER_PAGES)) {
    const path = `/settings/${slug}`;
    const keys = keysOf(SERVER_SETTINGS, gp.groups);
    const render = async (c: Ctx, flash?: Flash, submitted?: Form): Promise<import('fastify').FastifyReply> => {
      const stored = await deps.admin.getServerSettings(c.actor);
      const eff = await deps.admin.getServerEffectiveSettings(c.actor);
      const rev = await revisionOf(c, { kind: 'server' });
      // Only a cue for the reader: the service refuses a change from an account without the right.
      const readOnly = !c.rights.has('ServerSettings');
      const cards = gp.groups.map((g) => html`<div class="card"><h2>${g}</h2>${settingsTable({
        schema: SERVER_SETTINGS, keys: keysOf(SERVER_SETTINGS, [g]), stored, effective: eff, inherit: 'default', submitted: submitted ?? null, sourceNames: OBJECT_SOURCES, readOnly,
      })}</div>`);
      return renderPage(c, { title: gp.title, flash: flash ?? null, body: html`<div class="crumbs">Settings</div><h1>${gp.title}</h1><p class="lead">${gp.lead}</p>
<form method="post" action="${path}">${csrfField(c)}${revField(rev)}${cards}${readOnly ? html`<p class="muted">Read only: changing server settings needs the right Can Modify Server Settings.</p>` : html`<div class="actions"><button type="submit">Save</button></div>`}</form>` });
    };
    app.get(path, page((c) => render(c)));
    app.post(path, page(async (c) => {
      const stored = await deps.admin.getServerSettings(c.actor);
      const ch = settingsChange(SERVER_SETTINGS, keys, c.form, stored);
      return change(c, async () => {
        if (Object.keys(ch).length === 0) return 'Nothing was changed.';
        await deps.admin.updateServerSettings(c.actor, ch, c.form.get('_rev') || undefined);
        await notify(c, { kind: 'server' });
        return 'Saved.';
      }, path, (f) => render(c, f, f.kind === 'error' && c.reply.statusCode !== 409 ? c.form : undefined));
    }));
  }

  // ---- server-wide Default Account Settings (P1) -------------------------------------------
  const renderDefaults = async (c: Ctx, flash?: Flash, submitted?: Form) => {
    const stored = await deps.admin.getServerAccountDefaults(c.actor);
    const rev = await revisionOf(c, { kind: 'serverAccountDefaults' });
    const groups = [...new Set(ACCOUNT_KEYS.map((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group))];
    return renderPage(c, { title: 'Default Account Settings', flash: flash ?? null, body: html`<div class="crumbs">Users</div><h1>Default Account Settings <small>server-wide</small></h1>
<p class="lead">Every account of every domain uses these values unless its domain's defaults or the account itself set another (P1).</p>
<form method="post" action="/account-defaults">${csrfField(c)}${revField(rev)}${groups.map((g) => html`<div class="card"><h2>${g}</h2>${settingsTable({
      schema: ACCOUNT_SETTINGS, keys: ACCOUNT_KEYS.filter((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group === g), stored, inherit: 'default', submitted: submitted ?? null,
    })}</div>`)}<div class="actions"><button type="submit">Save</button></div></form>` });
  };
  app.get('/account-defaults', page((c) => renderDefaults(c)));
  app.post('/account-defaults', page(async (c) => {
    const stored = await deps.admin.getServerAccountDefaults(c.actor);
    const ch = settingsChange(ACCOUNT_SETTINGS, ACCOUNT_KEYS, c.form, stored);
    return change(c, async () => {
      if (Object.keys(ch).length === 0) return 'Nothing was changed.';
      await checkRevision(c, { kind: 'serverAccountDefaults' });
      await deps.admin.updateServerAccountDefaults(c.actor, ch);
      return 'Saved.';
    }, '/account-defaults', (f) => renderDefaults(c, f, c.reply.statusCode !== 409 ? c.form : undefined));
  }));

  // ---- Listeners (N3, N4, A8) ------------------------------------------------------------
  const renderListeners = async (c: Ctx, flash?: Flash) => {
    await deps.admin.getServerSettings(c.actor); // the rights check for reading server settings
    const eff = await deps.admin.getServerEffectiveSettings(c.actor);
    const rev = await revisionOf(c, { kind: 'server' });
    const all = eff.values.Listeners;
    const cards = SERVICES.map((svc) => {
      const rows = [...(all[svc] ?? []), null];
      return html`<div class="card" id="${`svc-${svc}`}"><h2>${SERVICE_NAMES[svc]}</h2>
<form method="post" action="${`/listeners/${svc}`}">${csrfField(c)}${revField(rev)}<input type="hidden" name="count" value="${rows.length}">
<table class="listeners"><tr><th>Address</th><th>Port</th><th>TLS</th><th>Clear-text login</th><th>Grant</th><th>Deny</th><th>PROXY from</th><th></th></tr>
${rows.map((l, i) => listenerRow(i, l))}</table>
<p class="muted">Grant, Deny and PROXY from take one address or range per line (192.0.2.0/24, 2001:db8::/48, a-b). An empty Grant list grants every address not denied. Fill the last row to add a listener.</p>
<div class="actions"><button type="submit">Save ${svc} listeners</button></div></form></div>`;
    });
    return renderPage(c, { title: 'Listeners', flash: flash ?? null, body: html`<div class="crumbs">Settings</div><h1>Listeners</h1>
<p class="lead">The ports each service listens on, with TLS, the addresses granted and denied (checked before any byte is sent), and the load balancers whose PROXY header is trusted. Changes apply without a restart.</p>${cards}` });
  };
  app.get('/listeners', page((c) => renderListeners(c)));
  app.post('/listeners/:service', page(async (c) => {
    const svc = (c.req.params as { service: string }).service as Service;
    if (!SERVICES.includes(svc)) return redirectWith(c, '/listeners', { kind: 'error', text: 'Unknown service.' });
    return change(c, async () => {
      const eff = await deps.admin.getServerEffectiveSettings(c.actor);
      const next: Record<string, ListenerConfig[]> = { ...eff.values.Listeners };
      const rows: CgDict[] = [];
      const count = Math.min(Number(c.form.get('count')) || 0, LISTENERS_MAX_ROWS);
      for (let i = 0; i < count; i++) {
        const f = (k: string) => c.form.get(`l.${i}.${k}`).trim();
        if (c.form.get(`l.${i}.remove`) === '1' || f('Port') === '') continue;
        const lines = (k: string) => f(k).split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
        rows.push(dict({ Address: f('Address') || '0.0.0.0', Port: f('Port'), TLS: f('TLS'), ClearTextLogin: f('ClearTextLogin'), Grant: lines('Grant'), Deny: lines('Deny'), ProxyFrom: lines('ProxyFrom') }));
      }
      const encoded = SERVER_SETTINGS.Listeners.codec.encode(next) as CgDict;
      encoded[svc] = rows;
      await deps.admin.updateServerSettings(c.actor, { Listeners: encoded }, c.form.get('_rev') || undefined);
      await notify(c, { kind: 'server' });
      return `${svc} listeners saved.`;
    }, `/listeners#svc-${svc}`, (f) => renderListeners(c, f));
  }));

  // ---- Access Rights overview (R1-R4) ------------------------------------------------------
  app.get('/rights', page(async (c) => {
    const main = await deps.admin.mainDomainName(c.actor);
    const accounts = await deps.admin.listAccounts(c.actor, main);
    const rows: SafeHtml[] = [];
    for (const a of accounts.slice(0, RIGHTS_OVERVIEW_MAX)) {
      const r = await deps.admin.getAccountRights(c.actor, `${a}@${main}`);
      if (r.length) rows.push(html`<tr><td><a href="${`/domains/${enc(main)}/accounts/${enc(a)}#rights`}">${a}@${main}</a></td><td>${r.map((x: Right) => RIGHT_LABELS[x]).join(', ')}</td></tr>`);
    }
    return renderPage(c, { title: 'Access Rights', body: html`<div class="crumbs">Users</div><h1>Access Rights</h1>
<p class="lead">Accounts of the main domain holding server-wide rights. Rights are changed on each account's page; domain administrators are listed on their domain's page. The main domain's postmaster always holds every right (R2).</p>
<div class="card"><table><tr><th>Account</th><th>Rights</th></tr>${rows.length ? rows : html`<tr><td colspan="2" class="muted">No account holds rights.</td></tr>`}</table></div>` });
  }));
}

/** Rows accepted from one listeners form: the schema allows 64 listeners per service. */
const LISTENERS_MAX_ROWS = 65;
/** Accounts looked at for the rights overview: beyond this the page would be slow and unreadable. */
const RIGHTS_OVERVIEW_MAX = 1000;

const SERVICE_NAMES: Record<Service, string> = {
  IMAP: 'IMAP', POP: 'POP3', SMTP: 'SMTP submission', HTTPA: 'WebAdmin (HTTPA)', HTTPU: 'WebUser (HTTPU)', PWD: 'CLI/PWD',
};

function listenerRow(i: number, l: ListenerConfig | null): SafeHtml {
  const n = (k: string) => `l.${i}.${k}`;
  const sel = (k: string, opts: readonly string[], cur: string) => html`<select name="${n(k)}" aria-label="${k}">${opts.map((o) => html`<option value="${o}"${o === cur ? html` selected` : ''}>${o}</option>`)}</select>`;
  return html`<tr><td><input type="text" name="${n('Address')}" value="${l?.Address ?? ''}" placeholder="0.0.0.0" aria-label="Address" class="addr"></td>
<td><input type="number" name="${n('Port')}" value="${l ? String(l.Port) : ''}" min="0" max="65535" aria-label="Port"></td>
<td>${sel('TLS', ['implicit', 'starttls', 'clear'], l?.TLS ?? 'implicit')}</td>
<td>${sel('ClearTextLogin', ['tls-only', 'always'], l?.ClearTextLogin ?? 'tls-only')}</td>
<td><textarea name="${n('Grant')}" aria-label="Grant">${(l?.Grant ?? []).join('\n')}</textarea></td>
<td><textarea name="${n('Deny')}" aria-label="Deny">${(l?.Deny ?? []).join('\n')}</textarea></td>
<td><textarea name="${n('ProxyFrom')}" aria-label="PROXY from">${(l?.ProxyFrom ?? []).join('\n')}</textarea></td>
<td>${l ? html`<label class="check"><input type="checkbox" name="${n('remove')}" value="1"> remove</label>` : html`<span class="muted">new</span>`}</td></tr>`;
}
