/**
 * Domains and accounts (W1): the domain list, Domain Settings, the domain-wide Default Account
 * Settings, the account list and Account Settings with effective values and their sources,
 * passwords, lock-out state with Unlock, and Access Rights. Every call goes to AdminService, which
 * decides what the logged-in account may see and do; a delegated domain administrator asking for
 * another domain gets the same "not found" as for a domain that does not exist.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MailwardError } from '../../core/errors.js';
import { MAIN_DOMAIN_ONLY, RIGHT_LABELS, RIGHTS, type Right } from '../../directory/rights.js';
import { ACCOUNT_SETTINGS, DOMAIN_SETTINGS } from '../../settings/schema.js';
import { dict } from '../../settings/format/types.js';
import { html, type SafeHtml } from '../common/html.js';
import type { Flash } from '../common/layout.js';
import type { Form } from '../common/form.js';
import type { SessionStore } from '../common/sessions.js';
import { OBJECT_SOURCES, settingsChange, settingsTable } from './settings-form.js';
import { ACCOUNT_KEYS } from './pages-server.js';
import { authed, change, csrfField, enc, notify, renderPage, type AdminSessionData, type Ctx, type WebAdminDeps } from './context.js';

/** Domains and accounts shown per list page: beyond this a page is too long to read; the
 *  `page` query parameter walks through the rest. */
export const LIST_PAGE_SIZE = 200;

/** Domain settings on the Domain Settings page; Security has its own page, aliases their own form
 *  (the service checks that an alias is not another domain's name). */
const DOMAIN_KEYS = Object.keys(DOMAIN_SETTINGS).filter((k) => {
  const g = DOMAIN_SETTINGS[k as keyof typeof DOMAIN_SETTINGS].group;
  return g !== 'Security' && k !== 'DomainAliases';
});

type P = { domain: string; account?: string };

export function domainTabs(d: string, here: 'settings' | 'security' | 'accounts' | 'defaults'): SafeHtml {
  const t = (k: typeof here, href: string, label: string) => html`<a href="${href}"${k === here ? html` class="here" aria-current="page"` : ''}>${label}</a>`;
  const b = `/domains/${enc(d)}`;
  return html`<nav class="tabs" aria-label="Domain">${t('settings', b, 'Settings')}${t('security', `${b}/security`, 'Security')}${t('accounts', `${b}/accounts`, 'Accounts')}${t('defaults', `${b}/defaults`, 'Account Defaults')}</nav>`;
}

function revField(rev: string): SafeHtml {
  return html`<input type="hidden" name="_rev" value="${rev}">`;
}

function pageParam(c: Ctx): number {
  const n = Number((c.req.query as Record<string, string | undefined>).page ?? '1');
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

function pager(base: string, page: number, total: number): SafeHtml {
  const pages = Math.max(1, Math.ceil(total / LIST_PAGE_SIZE));
  if (pages === 1) return html``;
  return html`<p class="muted">Page ${page} of ${pages}. ${page > 1 ? html`<a href="${`${base}?page=${page - 1}`}">Previous</a>` : ''} ${page < pages ? html`<a href="${`${base}?page=${page + 1}`}">Next</a>` : ''}</p>`;
}

export function registerDomainPages(app: FastifyInstance, deps: WebAdminDeps, sessions: SessionStore<AdminSessionData>): void {
  const page = (h: (c: Ctx) => Promise<FastifyReply>) => authed(deps, sessions, h);
  const params = (c: Ctx) => c.req.params as P;
  /** The canonical name, asked only after the service allowed a read of the domain. */
  const canonical = async (d: string) => (await deps.directory.findDomain(d)) ?? d.toLowerCase();

  // ---- domain list -------------------------------------------------------------------------
  const renderDomains = async (c: Ctx, flash?: Flash) => {
    const all = await deps.admin.listDomains(c.actor);
    const main = await deps.admin.mainDomainName(c.actor);
    const pg = pageParam(c);
    const shown = all.slice((pg - 1) * LIST_PAGE_SIZE, pg * LIST_PAGE_SIZE);
    const rows: SafeHtml[] = [];
    for (const d of shown) {
      const s = await deps.admin.getDomainEffectiveSettings(c.actor, d);
      const b = `/domains/${enc(d)}`;
      rows.push(html`<tr><td><a href="${b}"><strong>${d}</strong></a>${d === main ? html` <span class="badge ok">main</span>` : ''}</td>
<td>${s.values.DomainAliases.join(', ') || html`<span class="muted">none</span>`}</td><td>${s.values.CertificateMode}</td>
<td><a href="${`${b}/accounts`}">Accounts</a> · <a href="${`${b}/security`}">Security</a> · <a href="${`${b}/defaults`}">Defaults</a></td></tr>`);
    }
    return renderPage(c, { title: 'Domains', flash: flash ?? null, body: html`<div class="crumbs">Users</div><h1>Domains</h1>
<p class="lead">Each domain has its own accounts, settings, certificate and administrators.</p>
<div class="card"><table><tr><th>Domain</th><th>Aliases</th><th>Certificate</th><th></th></tr>${rows}</table>${pager('/domains', pg, all.length)}</div>
<div class="card"><h2>Create a domain</h2><form method="post" action="/domains" class="row">${csrfField(c)}
<label>Domain name<input type="text" name="name" required placeholder="example.org"></label><button type="submit">Create domain</button></form></div>` });
  };
  app.get('/domains', page((c) => renderDomains(c)));
  app.post('/domains', page(async (c) => {
    const name = c.form.get('name').trim().toLowerCase();
    return change(c, async () => {
      await deps.admin.createDomain(c.actor, name);
      await notify(c, { kind: 'domains' });
      return `Domain ${name} created.`;
    }, `/domains/${enc(name)}`, (f) => renderDomains(c, f));
  }));

  // ---- domain settings -----------------------------------------------------------------------
  const renderDomain = async (c: Ctx, flash?: Flash, submitted?: Form) => {
    const d = params(c).domain;
    const stored = await deps.admin.getDomainSettings(c.actor, d);
    const eff = await deps.admin.getDomainEffectiveSettings(c.actor, d);
    const cd = await canonical(d);
    const rev = (await deps.directory.get({ kind: 'domain', domain: cd }))?.revision ?? '';
    const groups = [...new Set(DOMAIN_KEYS.map((k) => DOMAIN_SETTINGS[k as keyof typeof DOMAIN_SETTINGS].group))];
    const b = `/domains/${enc(cd)}`;
    return renderPage(c, { title: `Domain ${cd}`, flash: flash ?? null, body: html`<div class="crumbs"><a href="/domains">Domains</a></div><h1>${cd}</h1>${domainTabs(cd, 'settings')}
<form method="post" action="${b}">${csrfField(c)}${revField(rev)}${groups.map((g) => html`<div class="card"><h2>${g}</h2>${settingsTable({
      schema: DOMAIN_SETTINGS, keys: DOMAIN_KEYS.filter((k) => DOMAIN_SETTINGS[k as keyof typeof DOMAIN_SETTINGS].group === g), stored, effective: eff, inherit: 'default', submitted: submitted ?? null, sourceNames: OBJECT_SOURCES,
    })}</div>`)}<div class="actions"><button type="submit">Save</button></div></form>
<div class="card"><h2>Domain Aliases</h2><form method="post" action="${`${b}/aliases`}">${csrfField(c)}
<p class="muted">Other names of this domain, one per line: name@alias logs in as name@${cd}.</p>
<textarea name="aliases" class="short" aria-label="Domain Aliases">${eff.values.DomainAliases.join('\n')}</textarea>
<div class="actions"><button type="submit">Save aliases</button></div></form></div>
<div class="grid2"><div class="card"><h2>Rename</h2><form method="post" action="${`${b}/rename`}" class="row">${csrfField(c)}<label>New name<input type="text" name="to" required></label><button type="submit" class="secondary">Rename</button></form></div>
<div class="card"><h2>Delete</h2><form method="post" action="${`${b}/delete`}" class="row">${csrfField(c)}<label class="check"><input type="checkbox" name="confirm" value="yes" required> delete ${cd} and all its accounts</label><button type="submit" class="danger">Delete domain</button></form></div></div>` });
  };
  app.get('/domains/:domain', page((c) => renderDomain(c)));
  app.post('/domains/:domain', page(async (c) => {
    const d = params(c).domain;
    const stored = await deps.admin.getDomainSettings(c.actor, d);
    const ch = settingsChange(DOMAIN_SETTINGS, DOMAIN_KEYS, c.form, stored);
    return change(c, async () => {
      if (Object.keys(ch).length === 0) return 'Nothing was changed.';
      await deps.admin.updateDomainSettings(c.actor, d, ch, c.form.get('_rev') || undefined);
      await notify(c, { kind: 'domain', domain: await canonical(d) });
      return 'Saved.';
    }, `/domains/${enc(d)}`, (f) => renderDomain(c, f, c.reply.statusCode !== 409 ? c.form : undefined));
  }));
  app.post('/domains/:domain/aliases', page(async (c) => {
    const d = params(c).domain;
    const aliases = c.form.get('aliases').split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== '');
    return change(c, async () => {
      await deps.admin.setDomainAliases(c.actor, d, aliases);
      await notify(c, { kind: 'domains' });
      return 'Aliases saved.';
    }, `/domains/${enc(d)}`, (f) => renderDomain(c, f));
  }));
  app.post('/domains/:domain/rename', page(async (c) => {
    const d = params(c).domain;
    const to = c.form.get('to').trim().toLowerCase();
    return change(c, async () => {
      await deps.admin.renameDomain(c.actor, d, to);
      await notify(c, { kind: 'domains' });
      return `Renamed to ${to}.`;
    }, `/domains/${enc(to)}`, (f) => renderDomain(c, f));
  }));
  app.post('/domains/:domain/delete', page(async (c) => {
    const d = params(c).domain;
    return change(c, async () => {
      if (c.form.get('confirm') !== 'yes') throw new MailwardError('settings.invalid', 'tick the box to confirm the deletion');
      await deps.admin.deleteDomain(c.actor, d);
      await notify(c, { kind: 'domains' });
      return `Domain ${d} deleted.`;
    }, '/domains', (f) => renderDomain(c, f));
  }));

  // ---- domain-wide Default Account Settings (P1) ----------------------------------------
  const renderDefaults = async (c: Ctx, flash?: Flash, submitted?: Form) => {
    const d = params(c).domain;
    const stored = await deps.admin.getAccountDefaults(c.actor, d);
    const cd = await canonical(d);
    const rev = (await deps.directory.get({ kind: 'domainAccountDefaults', domain: cd }))?.revision ?? '';
    const groups = [...new Set(ACCOUNT_KEYS.map((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group))];
    return renderPage(c, { title: `Account Defaults of ${cd}`, flash: flash ?? null, body: html`<div class="crumbs"><a href="/domains">Domains</a></div><h1>${cd}</h1>${domainTabs(cd, 'defaults')}
<p class="lead">Default Account Settings for the accounts of ${cd}. A setting left at "inherit" comes from the server-wide defaults.</p>
<form method="post" action="${`/domains/${enc(cd)}/defaults`}">${csrfField(c)}${revField(rev)}${groups.map((g) => html`<div class="card"><h2>${g}</h2>${settingsTable({
      schema: ACCOUNT_SETTINGS, keys: ACCOUNT_KEYS.filter((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group === g), stored, inherit: 'inherit', submitted: submitted ?? null,
    })}</div>`)}<div class="actions"><button type="submit">Save</button></div></form>` });
  };
  app.get('/domains/:domain/defaults', page((c) => renderDefaults(c)));
  app.post('/domains/:domain/defaults', page(async (c) => {
    const d = params(c).domain;
    const stored = await deps.admin.getAccountDefaults(c.actor, d);
    const ch = settingsChange(ACCOUNT_SETTINGS, ACCOUNT_KEYS, c.form, stored);
    return change(c, async () => {
      if (Object.keys(ch).length === 0) return 'Nothing was changed.';
      const cd = await canonical(d);
      if (((await deps.directory.get({ kind: 'domainAccountDefaults', domain: cd }))?.revision ?? '') !== c.form.get('_rev')) throw new MailwardError('store.conflict');
      await deps.admin.updateAccountDefaults(c.actor, d, ch);
      return 'Saved.';
    }, `/domains/${enc(d)}/defaults`, (f) => renderDefaults(c, f, c.reply.statusCode !== 409 ? c.form : undefined));
  }));

  // ---- accounts --------------------------------------------------------------------------
  const renderAccounts = async (c: Ctx, flash?: Flash) => {
    const d = params(c).domain;
    const all = await deps.admin.listAccounts(c.actor, d);
    const cd = await canonical(d);
    const pg = pageParam(c);
    const rows: SafeHtml[] = [];
    for (const a of all.slice((pg - 1) * LIST_PAGE_SIZE, pg * LIST_PAGE_SIZE)) {
      const s = await deps.admin.getAccountEffectiveSettings(c.actor, `${a}@${cd}`);
      rows.push(html`<tr><td><a href="${`/domains/${enc(cd)}/accounts/${enc(a)}`}"><strong>${a}</strong></a></td><td>${s.values.RealName}</td>
<td>${s.values.AccessModes.join(', ')}</td><td>${s.values.RequireSecureMethod ? html`<span class="badge ok">secure only</span>` : ''}</td></tr>`);
    }
    return renderPage(c, { title: `Accounts of ${cd}`, flash: flash ?? null, body: html`<div class="crumbs"><a href="/domains">Domains</a></div><h1>${cd}</h1>${domainTabs(cd, 'accounts')}
<div class="card"><table><tr><th>Account</th><th>Real Name</th><th>Services</th><th></th></tr>${rows.length ? rows : html`<tr><td colspan="4" class="muted">No accounts.</td></tr>`}</table>${pager(`/domains/${enc(cd)}/accounts`, pg, all.length)}</div>
<div class="card"><h2>Create an account</h2><form method="post" action="${`/domains/${enc(cd)}/accounts`}" class="row">${csrfField(c)}
<label>Account name<input type="text" name="name" required autocomplete="off"></label><label>Real Name<input type="text" name="realName" autocomplete="off"></label>
<label>Password<input type="password" name="password" autocomplete="new-password"></label><button type="submit">Create account</button></form></div>` });
  };
  app.get('/domains/:domain/accounts', page((c) => renderAccounts(c)));
  app.post('/domains/:domain/accounts', page(async (c) => {
    const d = params(c).domain;
    const name = c.form.get('name').trim().toLowerCase();
    const realName = c.form.get('realName').trim();
    const pw = c.form.get('password');
    return change(c, async () => {
      if (name === '' || name.includes('@')) throw new MailwardError('name.invalid', 'enter the account name without @domain');
      await deps.admin.createAccount(c.actor, `${name}@${d}`, realName ? dict({ RealName: realName }) : dict(), pw === '' ? undefined : pw);
      return `Account ${name}@${d} created.`;
    }, `/domains/${enc(d)}/accounts/${enc(name)}`, (f) => renderAccounts(c, f));
  }));

  const renderAccount = async (c: Ctx, flash?: Flash | Flash[], submitted?: Form) => {
    const { domain: d, account: a = '' } = params(c);
    const address = `${a}@${d}`;
    const stored = await deps.admin.getAccountSettings(c.actor, address);
    const eff = await deps.admin.getAccountEffectiveSettings(c.actor, address);
    const rights = await deps.admin.getAccountRights(c.actor, address);
    const cd = await canonical(d);
    const ca = a.toLowerCase();
    const rev = (await deps.directory.get({ kind: 'account', domain: cd, account: ca }))?.revision ?? '';
    const lock = await deps.admin.getAccountLockout(c.actor, address);
    const main = await deps.admin.mainDomainName(c.actor);
    const b = `/domains/${enc(cd)}/accounts/${enc(ca)}`;
    const groups = [...new Set(ACCOUNT_KEYS.map((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group))];
    const grantable = RIGHTS.filter((r) => cd === main || !MAIN_DOMAIN_ONLY.has(r));
    const isMainPostmaster = cd === main && ca === 'postmaster';
    return renderPage(c, { title: `Account ${ca}@${cd}`, flash: flash ?? null, body: html`<div class="crumbs"><a href="/domains">Domains</a> › <a href="${`/domains/${enc(cd)}/accounts`}">${cd}</a></div>
<h1>${ca}<small>@${cd}</small></h1><p class="lead">${eff.values.RealName}</p>
<form method="post" action="${b}">${csrfField(c)}${revField(rev)}${groups.map((g) => html`<div class="card"><h2>${g === 'Password' ? 'Authentication' : g}</h2>${settingsTable({
      schema: ACCOUNT_SETTINGS, keys: ACCOUNT_KEYS.filter((k) => ACCOUNT_SETTINGS[k as keyof typeof ACCOUNT_SETTINGS].group === g), stored, effective: eff, inherit: 'inherit', submitted: submitted ?? null,
    })}</div>`)}<div class="actions"><button type="submit">Save settings</button></div></form>
<div class="grid2">
<div class="card"><h2>Password</h2><p class="muted">Own password: ${eff.values.Password === '' ? 'not set' : 'set'} · stored ${eff.values.PasswordEncryption === 'clear' ? 'in clear (reversible)' : 'one-way (argon2id + SCRAM keys)'}.</p>
<form method="post" action="${`${b}/password`}">${csrfField(c)}<div class="row"><label>New password<input type="password" name="password" autocomplete="new-password" required></label>
<label>Again<input type="password" name="password2" autocomplete="new-password" required></label></div><div class="actions"><button type="submit">Set password</button></div></form></div>
<div class="card"><h2>Failed logins</h2>${lock.lockedUntil !== null
      ? html`<p><span class="badge bad">suspended</span> until ${new Date(lock.lockedUntil).toISOString().replace('T', ' ').slice(0, 19)} UTC</p>`
      : html`<p><span class="badge ok">not suspended</span> ${lock.failures} recent failed login${lock.failures === 1 ? '' : 's'}</p>`}
<form method="post" action="${`${b}/unlock`}">${csrfField(c)}<button type="submit" class="secondary"${lock.lockedUntil === null && lock.failures === 0 ? html` disabled` : ''}>Unlock</button></form></div>
</div>
<div class="card" id="rights"><h2>Access Rights</h2>${isMainPostmaster ? html`<p>The main domain's postmaster always has unlimited access (R2).</p>` : html`
<form method="post" action="${`${b}/rights`}">${csrfField(c)}<table>${grantable.map((r: Right) => html`<tr><td><label class="check"><input type="checkbox" name="right" value="${r}"${rights.includes(r) ? html` checked` : ''}> ${RIGHT_LABELS[r]}</label></td></tr>`)}</table>
${cd !== main ? html`<p class="muted">Server-wide rights can be held only by accounts of the main domain (R1).</p>` : ''}
<div class="actions"><button type="submit">Save rights</button></div></form>`}</div>
<div class="grid2"><div class="card"><h2>Rename</h2><form method="post" action="${`${b}/rename`}" class="row">${csrfField(c)}<label>New name<input type="text" name="to" required></label><button type="submit" class="secondary">Rename</button></form></div>
<div class="card"><h2>Delete</h2><form method="post" action="${`${b}/delete`}" class="row">${csrfField(c)}<label class="check"><input type="checkbox" name="confirm" value="yes" required> delete ${ca}@${cd}</label><button type="submit" class="danger">Delete account</button></form></div></div>` });
  };
  const acct = (c: Ctx) => { const p = params(c); return { d: p.domain, a: p.account ?? '', address: `${p.account ?? ''}@${p.domain}`, b: `/domains/${enc(p.domain)}/accounts/${enc(p.account ?? '')}` }; };
  app.get('/domains/:domain/accounts/:account', page((c) => renderAccount(c)));
  app.post('/domains/:domain/accounts/:account', page(async (c) => {
    const { address, b } = acct(c);
    const stored = await deps.admin.getAccountSettings(c.actor, address);
    const ch = settingsChange(ACCOUNT_SETTINGS, ACCOUNT_KEYS, c.form, stored);
    return change(c, async () => {
      if (Object.keys(ch).length === 0) return 'Nothing was changed.';
      await deps.admin.updateAccountSettings(c.actor, address, ch, c.form.get('_rev') || undefined);
      return 'Saved.';
    }, b, (f) => renderAccount(c, f, c.reply.statusCode !== 409 ? c.form : undefined));
  }));
  app.post('/domains/:domain/accounts/:account/password', page(async (c) => {
    const { address, b } = acct(c);
    return change(c, async () => {
      const pw = c.form.get('password');
      if (pw !== c.form.get('password2')) throw new MailwardError('settings.invalid', 'the two passwords differ');
      await deps.admin.setAccountPassword(c.actor, address, pw);
      return 'Password set.';
    }, b, (f) => renderAccount(c, f));
  }));
  app.post('/domains/:domain/accounts/:account/unlock', page(async (c) => {
    const { address, b } = acct(c);
    return change(c, async () => {
      await deps.admin.unlockAccount(c.actor, address);
      return 'Unlocked: the failed logins are forgotten.';
    }, b, (f) => renderAccount(c, f));
  }));
  app.post('/domains/:domain/accounts/:account/rights', page(async (c) => {
    const { address, b } = acct(c);
    return change(c, async () => {
      const wanted = c.form.all('right').filter((r): r is Right => (RIGHTS as readonly string[]).includes(r));
      await deps.admin.setAccountRights(c.actor, address, wanted);
      return 'Access rights saved.';
    }, `${b}#rights`, (f) => renderAccount(c, f));
  }));
  app.post('/domains/:domain/accounts/:account/rename', page(async (c) => {
    const { d, address, b } = acct(c);
    const to = c.form.get('to').trim().toLowerCase();
    return change(c, async () => {
      await deps.admin.renameAccount(c.actor, address, to);
      return `Renamed to ${to}@${d}.`;
    }, `/domains/${enc(d)}/accounts/${enc(to)}`, (f) => { void b; return renderAccount(c, f); });
  }));
  app.post('/domains/:domain/accounts/:account/delete', page(async (c) => {
    const { d, address } = acct(c);
    return change(c, async () => {
      if (c.form.get('confirm') !== 'yes') throw new MailwardError('settings.invalid', 'tick the box to confirm the deletion');
      await deps.admin.deleteAccount(c.actor, address);
      return `Account ${address} deleted.`;
    }, `/domains/${enc(d)}/accounts`, (f) => renderAccount(c, f));
  }));
}
