/**
 * Domain Security (T4-T7): the certificate mode, the private key (generate, paste, Key Test,
 * remove), the certificate (attributes, self-signed, signing request, paste the signed one,
 * remove) and the CA chain (paste, table, remove). Every operation is DomainSecurityService's,
 * which checks the rights and keeps the rules (a new key drops the old certificate...); the private
 * key never reaches this page. After each change the server is told, so that the TLS resolver
 * serves the new certificate at the next connection (T8, no restart).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { MailwardError } from '../../core/errors.js';
import type { CertificateAttributes, CertificateDescription, NameAttribute } from '../../tls/certificates.js';
import { KEY_KINDS, type KeyKind } from '../../tls/keys.js';
import type { DomainSecurityView, SecurityResult } from '../../admin/domain-security.js';
import { html, type SafeHtml } from '../common/html.js';
import type { Flash } from '../common/layout.js';
import type { SessionStore } from '../common/sessions.js';
import { domainTabs } from './pages-domains.js';
import { KeygenJobs } from './keygen-jobs.js';
import { authed, change, csrfField, describeError, enc, notify, redirectWith, renderPage, type AdminSessionData, type Ctx, type WebAdminDeps } from './context.js';

const KIND_LABELS: Record<KeyKind, string> = {
  'rsa-2048': 'RSA 2048 bits', 'rsa-3072': 'RSA 3072 bits', 'rsa-4096': 'RSA 4096 bits (slow to make)', 'ecdsa-p256': 'ECDSA P-256', 'ecdsa-p384': 'ECDSA P-384',
};

const fmt = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function nameTable(n: NameAttribute[]): SafeHtml {
  return html`<dl class="facts">${n.map((a) => html`<dt>${a.label}</dt><dd>${a.value}</dd>`)}</dl>`;
}

function certPanel(d: CertificateDescription): SafeHtml {
  const now = Date.now();
  const valid = now >= d.validFrom.getTime() && now <= d.validTill.getTime();
  return html`<div class="grid2"><div><h3>Issued to</h3>${nameTable(d.issuedTo)}</div><div><h3>Issued by</h3>${nameTable(d.issuedBy)}</div></div>
<dl class="facts"><dt>Valid from</dt><dd>${fmt(d.validFrom)}</dd><dt>Valid till</dt><dd>${fmt(d.validTill)} ${valid ? html`<span class="badge ok">valid</span>` : html`<span class="badge bad">not valid now</span>`}</dd>
<dt>Names</dt><dd>${d.dnsNames.join(', ')}</dd><dt>Key</dt><dd>${d.publicKey}</dd><dt>SHA-256</dt><dd><code>${d.fingerprintSha256}</code></dd>${d.selfIssued ? html`<dt>Kind</dt><dd>self-signed</dd>` : ''}</dl>`;
}

/** The attributes form fields; values pre-filled from the current certificate when there is one. */
function attributesForm(names: string[], cur: CertificateDescription | null, domain: string, prior?: Partial<CertificateAttributes>): SafeHtml {
  const get = (label: string) => cur?.issuedTo.find((a) => a.label === label)?.value ?? '';
  const v = {
    commonName: prior?.commonName ?? (get('Common Name') || domain), country: prior?.country ?? get('Country'), province: prior?.province ?? get('Province'),
    city: prior?.city ?? get('City'), organization: prior?.organization ?? get('Organization'), unit: prior?.unit ?? get('Unit'),
    email: prior?.email ?? (get('Contact') || `postmaster@${domain}`),
  };
  const input = (k: keyof typeof v, label: string, extra = '') => html`<label>${label}<input type="text" name="${`a.${k}`}" value="${v[k]}"${extra === 'req' ? html` required` : ''}></label>`;
  return html`<div class="row"><label>Common Name<select name="a.commonName">${names.map((n) => html`<option value="${n}"${n === v.commonName ? html` selected` : ''}>${n}</option>`)}</select></label>
${input('country', 'Country (2 letters)')}${input('province', 'Province/State')}${input('city', 'City')}</div>
<div class="row">${input('organization', 'Organization')}${input('unit', 'Organization Unit')}${input('email', 'Contact E-mail', 'req')}</div>`;
}

function attributesFrom(c: Ctx): CertificateAttributes {
  const f = (k: string) => c.form.get(`a.${k}`);
  return { commonName: f('commonName'), country: f('country'), province: f('province'), city: f('city'), organization: f('organization'), unit: f('unit'), email: f('email') };
}

export function registerSecurityPages(app: FastifyInstance, deps: WebAdminDeps, sessions: SessionStore<AdminSessionData>): void {
  const page = (h: (c: Ctx) => Promise<FastifyReply>) => authed(deps, sessions, h);
  const jobs = new KeygenJobs();
  const dom = (c: Ctx) => (c.req.params as { domain: string }).domain;
  const base = (d: string) => `/domains/${enc(d)}/security`;
  const sec = deps.security;

  async function load(c: Ctx): Promise<{ view: DomainSecurityView; names: string[] }> {
    const view = await sec.view(c.actor, dom(c));
    const aliases = await deps.admin.getDomainAliases(c.actor, view.domain);
    return { view, names: [view.domain, ...aliases] };
  }

  /** A refused operation is an expected failure: shown on the page, nothing stored. */
  function ok<T>(r: SecurityResult<T>): T {
    if (r.status !== 'ok') throw new MailwardError('settings.invalid', r.problems?.length ? r.problems.map((p) => p.message).join('; ') : r.message);
    return r as T;
  }

  const render = async (c: Ctx, flash?: Flash | Flash[], extra?: { csr?: string; attrs?: Partial<CertificateAttributes> }) => {
    const { view, names } = await load(c);
    const d = view.domain;
    const b = base(d);
    const key = view.key;
    const cert = view.certificate;
    const chain = view.chain;
    const modeCard = html`<div class="card"><h2>SSL/TLS Certificate To Use</h2><form method="post" action="${`${b}/mode`}" class="row">${csrfField(c)}
<label>Mode<select name="mode">${(['No', 'Test', 'Custom'] as const).map((m) => html`<option value="${m}"${m === view.mode ? html` selected` : ''}>${m}</option>`)}</select></label><button type="submit">Save</button></form>
<p class="muted">No: secure connections to ${d} are refused. Test: the server's test certificate. Custom: the key and certificate below.</p></div>`;
    const keyCard = html`<div class="card"><h2>Private Key</h2>${key ? html`
<p>${key.description} key installed.</p><div class="actions">
<form method="post" action="${`${b}/key-test`}" class="inline">${csrfField(c)}<button type="submit" class="secondary">Key Test</button></form>
<form method="post" action="${`${b}/remove-key`}" class="inline">${csrfField(c)}<button type="submit" class="danger">Remove key (and certificate)</button></form></div>` : html`
<p class="muted">No private key yet.</p>
<form method="post" action="${`${b}/generate-key`}" class="row">${csrfField(c)}<label>Key type<select name="kind">${KEY_KINDS.map((k) => html`<option value="${k}"${k === 'ecdsa-p256' ? html` selected` : ''}>${KIND_LABELS[k]}</option>`)}</select></label><button type="submit">Generate key</button></form>
<form method="post" action="${`${b}/paste-key`}">${csrfField(c)}<p><label for="pkey">Or paste a PEM key (PKCS#1, PKCS#8 or SEC1, without passphrase):</label></p><textarea id="pkey" name="pem" autocomplete="off" spellcheck="false"></textarea><div class="actions"><button type="submit" class="secondary">Import key</button></div></form>`}</div>`;
    const certCard = !key ? '' : html`<div class="card"><h2>Certificate</h2>${cert ? html`${certPanel(cert)}
<form method="post" action="${`${b}/remove-certificate`}">${csrfField(c)}<div class="actions"><button type="submit" class="danger">Remove certificate</button></div></form>` : html`<p class="muted">No certificate yet: enter its attributes, then make a self-signed certificate or a signing request for a CA.</p>`}
<h3>${cert ? 'New certificate' : 'Attributes'}</h3><form method="post" action="${`${b}/certificate`}">${csrfField(c)}${attributesForm(names, cert, d, extra?.attrs)}
<div class="actions"><button type="submit" name="action" value="self-signed">Generate Self-Signed</button><button type="submit" name="action" value="csr" class="secondary">Generate Signing Request</button></div></form>
${extra?.csr ? html`<h3>Signing request</h3><p class="muted">Send this to your certificate authority, then paste the certificate it returns below.</p><pre>${extra.csr}</pre>` : ''}
<form method="post" action="${`${b}/paste-certificate`}">${csrfField(c)}<p><label for="pcert">Paste the signed certificate (PEM):</label></p><textarea id="pcert" name="pem" spellcheck="false"></textarea><div class="actions"><button type="submit" class="secondary">Install certificate</button></div></form></div>`;
    const chainCard = html`<div class="card"><h2>Certificate Authority Chain</h2>${chain.length ? html`<table><tr><th>#</th><th>Issued to</th><th>Issued by</th><th>Valid from</th><th>Valid till</th></tr>
${chain.map((r, i) => html`<tr><td>${i + 1}</td><td>${r.subject}</td><td>${r.issuer}</td><td>${fmt(r.validFrom)}</td><td>${fmt(r.validTill)}</td></tr>`)}</table>
<form method="post" action="${`${b}/remove-chain`}">${csrfField(c)}<div class="actions"><button type="submit" class="danger">Remove chain</button></div></form>` : html`<p class="muted">No CA chain: only the certificate is sent.</p>`}
<form method="post" action="${`${b}/chain`}">${csrfField(c)}<p><label for="pchain">Paste the CA certificates (PEM), the issuer of the domain certificate first, the root last:</label></p><textarea id="pchain" name="pem" spellcheck="false"></textarea><div class="actions"><button type="submit" class="secondary">Save chain</button></div></form></div>`;
    return renderPage(c, { title: `Security of ${d}`, flash: flash ?? null, body: html`<div class="crumbs"><a href="/domains">Domains</a></div><h1>${d}</h1>${domainTabs(d, 'security')}${modeCard}${keyCard}${certCard}${chainCard}` });
  };

  /** An operation of the service, then the page again with its message; the server is told of
   *  every change that may alter what the TLS resolver serves. */
  const act = (path: string, run: (c: Ctx, d: string) => Promise<string>, changes = true) =>
    app.post(`/domains/:domain/security/${path}`, page(async (c) => {
      const d = (await deps.directory.findDomain(dom(c))) ?? dom(c);
      return change(c, async () => {
        const msg = await run(c, d);
        if (changes) await notify(c, { kind: 'domain', domain: d });
        return msg;
      }, base(d), (f) => render(c, f));
    }));

  app.get('/domains/:domain/security', page((c) => render(c)));

  act('mode', async (c, d) => {
    const mode = c.form.get('mode');
    if (mode !== 'No' && mode !== 'Test' && mode !== 'Custom') throw new MailwardError('settings.invalid', 'choose No, Test or Custom');
    ok(await sec.setMode(c.actor, d, mode));
    return `Certificate mode: ${mode}.`;
  });
  act('paste-key', async (c, d) => `${ok(await sec.importKey(c.actor, d, c.form.get('pem'))).key.description} key imported.`);
  act('key-test', async (c, d) => {
    const t = await sec.keyTest(c.actor, d);
    if (!t.ok) throw new MailwardError('settings.invalid', t.text);
    return t.text;
  }, false);
  act('remove-key', async (c, d) => { ok(await sec.removeKey(c.actor, d)); return 'Key and certificate removed.'; });
  act('remove-certificate', async (c, d) => { ok(await sec.removeCertificate(c.actor, d)); return 'Certificate removed.'; });
  act('remove-chain', async (c, d) => { ok(await sec.removeChain(c.actor, d)); return 'CA chain removed.'; });
  act('chain', async (c, d) => {
    const r = ok(await sec.setChain(c.actor, d, c.form.get('pem')));
    return `CA chain saved (${r.rows.length} certificate${r.rows.length === 1 ? '' : 's'}).${r.warnings.length ? ` Warnings: ${r.warnings.map((w) => w.message).join('; ')}` : ''}`;
  });
  act('paste-certificate', async (c, d) => {
    const r = ok(await sec.setCertificate(c.actor, d, c.form.get('pem')));
    return `Certificate installed.${r.warnings.length ? ` Warnings: ${r.warnings.map((w) => w.message).join('; ')}` : ''}`;
  });

  // Self-signed goes back to the page with a confirmation; a signing request is shown on the page.
  app.post('/domains/:domain/security/certificate', page(async (c) => {
    const d = (await deps.directory.findDomain(dom(c))) ?? dom(c);
    const attrs = attributesFrom(c);
    try {
      if (c.form.get('action') === 'csr') {
        const r = ok(await sec.signingRequest(c.actor, d, attrs));
        return await render(c, { kind: 'ok', text: 'Signing request made.' }, { csr: r.csr, attrs });
      }
      ok(await sec.selfSigned(c.actor, d, attrs));
      await notify(c, { kind: 'domain', domain: d });
      return redirectWith(c, base(d), { kind: 'ok', text: 'Self-signed certificate made and installed. Set the mode to Custom to use it.' });
    } catch (e) {
      const x = describeError(e);
      if (!x) throw e;
      c.reply.code(x.status);
      return render(c, { kind: 'error', text: x.text }, { attrs });
    }
  }));

  // ---- background key generation with a progress page (no script) ---------------------------
  app.post('/domains/:domain/security/generate-key', page(async (c) => {
    const kind = c.form.get('kind') as KeyKind;
    // The rights the final write will need, checked before seconds of CPU are spent.
    const d = await deps.admin.authorizeDomainChange(c.actor, dom(c), ['PrivateKey', 'Certificate']);
    if (!KEY_KINDS.includes(kind)) return redirectWith(c, base(d), { kind: 'error', text: 'Choose a key type.' });
    const actor = c.actor;
    const job = jobs.start(c.session.id, d, kind, async () => {
      const r = ok(await sec.generateKey(actor, d, kind));
      try { await deps.onChange?.({ kind: 'domain', domain: d }); } catch { /* the server logs its own failures */ }
      return `${r.key.description} key generated and installed.`;
    });
    if (!job) return redirectWith(c, base(d), { kind: 'error', text: 'Other keys are being generated right now: try again in a moment.' });
    return redirectWith(c, `${base(d)}/keygen/${job.id}`);
  }));

  app.get('/domains/:domain/security/keygen/:job', page(async (c) => {
    const d = (await sec.view(c.actor, dom(c))).domain;
    const job = jobs.get((c.req.params as { job: string }).job, c.session.id);
    if (!job || job.domain !== d) return redirectWith(c, base(d), { kind: 'error', text: 'No such key generation.' });
    if (job.state === 'done') return redirectWith(c, base(d), { kind: 'ok', text: job.message ?? 'Key installed.' });
    if (job.state === 'failed') return redirectWith(c, base(d), { kind: 'error', text: `Key generation failed: ${job.message ?? ''}` });
    const secs = ((Date.now() - job.started) / 1000).toFixed(1);
    return renderPage(c, { title: 'Generating key', refreshSeconds: 1, body: html`<div class="crumbs"><a href="/domains">Domains</a></div><h1>${d}</h1>${domainTabs(d, 'security')}
<div class="card"><h2>Generating a ${KIND_LABELS[job.kind]} key…</h2><div class="progress" role="progressbar" aria-label="working"><div></div></div>
<p>${secs} s so far. This page reloads itself every second and goes back to the Security page when the key is ready.</p></div>` });
  }));
}
