/**
 * Domain Security (T4–T7): the operations of the Domain Security page and of the CLI, with the
 * reference's rules kept here, in one place:
 *  - a domain has at most one key and one certificate for that key; removing the key removes the
 *    certificate, and a new key removes the certificate of the old one (T5);
 *  - a pasted certificate is refused unless it matches the key; dates and names only warn (T6);
 *  - a CA chain must parse; missing links only warn (T7).
 * Rights are those of changing the domain's settings (AdminService.updateDomainSettings), read
 * rights those of reading them. The private key never leaves this service: callers see a summary.
 */
import { MailwardError } from '../core/errors.js';
import type { Directory } from '../directory/directory.js';
import { generatePrivateKey, importPrivateKeyPem, keyTest, loadStoredKey, type KeyGenProgress, type KeyInfo, type KeyKind, type KeyTestResult } from '../tls/keys.js';
import {
  acceptCertificate, describeCertificatePem, generateSelfSigned, generateSigningRequest,
  type AttributeProblem, type CertificateAttributes, type CertificateDescription, type CertificateWarning,
} from '../tls/certificates.js';
import { checkChain, describeChain, type ChainRow, type ChainWarning } from '../tls/chain.js';
import type { AdminService, Actor } from './service.js';

export type CertificateMode = 'No' | 'Test' | 'Custom';

export interface DomainSecurityView {
  domain: string;
  mode: CertificateMode;
  key: KeyInfo | null;
  certificate: CertificateDescription | null;
  chain: ChainRow[];
}

export type SecurityResult<T = object> =
  | ({ status: 'ok' } & T)
  | { status: 'refused'; message: string; problems?: AttributeProblem[] };

export class DomainSecurityService {
  constructor(private readonly admin: AdminService, private readonly directory: Directory) {}

  /** Checks the actor may change the domain (throws as AdminService does) and returns its name. */
  private writable(actor: Actor, domain: string): Promise<string> {
    return this.admin.authorizeDomainChange(actor, domain, ['CertificateMode', 'PrivateKey', 'Certificate', 'CAChain']);
  }

  private async names(domain: string): Promise<{ name: string; aliases: string[] }> {
    return { name: domain, aliases: (await this.directory.domainSettings(domain)).values.DomainAliases };
  }

  private async material(domain: string) {
    return (await this.directory.domainSettings(domain)).values;
  }

  async view(actor: Actor, domain: string): Promise<DomainSecurityView> {
    const d = await this.admin.authorizeDomainRead(actor, domain);
    const s = await this.material(d);
    const key = s.PrivateKey ? loadStoredKey(s.PrivateKey) : null;
    return {
      domain: d,
      mode: s.CertificateMode,
      key: key?.status === 'ok' ? key.info : null,
      certificate: s.Certificate ? describeCertificatePem(s.Certificate) : null,
      chain: s.CAChain ? describeChain(s.CAChain) : [],
    };
  }

  async setMode(actor: Actor, domain: string, mode: CertificateMode): Promise<SecurityResult> {
    const d = await this.writable(actor, domain);
    if (mode === 'Custom') {
      const s = await this.material(d);
      if (!s.PrivateKey || !s.Certificate) return { status: 'refused', message: 'Custom needs a private key and a certificate first' };
    }
    await this.directory.update({ kind: 'domain', domain: d }, { CertificateMode: mode });
    return { status: 'ok' };
  }

  /** T5: a new random key. The old certificate belonged to the old key, so it goes too. */
  async generateKey(actor: Actor, domain: string, kind: KeyKind, onProgress?: (p: KeyGenProgress) => void): Promise<SecurityResult<{ key: KeyInfo }>> {
    const d = await this.writable(actor, domain);
    const k = await generatePrivateKey(kind, onProgress ? { onProgress } : {});
    await this.storeKey(d, k.pkcs8Pem);
    return { status: 'ok', key: k.info };
  }

  async importKey(actor: Actor, domain: string, pem: string): Promise<SecurityResult<{ key: KeyInfo }>> {
    const d = await this.writable(actor, domain);
    const r = await importPrivateKeyPem(pem);
    if (r.status !== 'ok') return { status: 'refused', message: r.message };
    await this.storeKey(d, r.pkcs8Pem);
    return { status: 'ok', key: r.info };
  }

  private async storeKey(domain: string, pkcs8Pem: string): Promise<void> {
    const s = await this.material(domain);
    await this.directory.update({ kind: 'domain', domain }, {
      PrivateKey: pkcs8Pem,
      Certificate: null,
      // Custom without a certificate would refuse every handshake; fall back to Test until the
      // new certificate is set.
      ...(s.CertificateMode === 'Custom' ? { CertificateMode: 'Test' } : {}),
    });
  }

  async keyTest(actor: Actor, domain: string): Promise<KeyTestResult> {
    const s = await this.material(await this.admin.authorizeDomainRead(actor, domain));
    if (!s.PrivateKey) return { ok: false, text: 'No private key' };
    return keyTest(s.PrivateKey);
  }

  /** T5: removing the key removes the certificate (it is useless without it). */
  async removeKey(actor: Actor, domain: string): Promise<SecurityResult> {
    const d = await this.writable(actor, domain);
    const s = await this.material(d);
    await this.directory.update({ kind: 'domain', domain: d }, {
      PrivateKey: null, Certificate: null, ...(s.CertificateMode === 'Custom' ? { CertificateMode: 'Test' } : {}),
    });
    return { status: 'ok' };
  }

  private async keyOf(domain: string): Promise<string> {
    const s = await this.material(domain);
    if (!s.PrivateKey) throw new MailwardError('directory.refused', 'the domain has no private key: generate or paste one first');
    return s.PrivateKey;
  }

  async selfSigned(actor: Actor, domain: string, attributes: CertificateAttributes): Promise<SecurityResult<{ certificate: CertificateDescription | null }>> {
    const d = await this.writable(actor, domain);
    const r = await generateSelfSigned(await this.keyOf(d), attributes, await this.names(d));
    if (r.status === 'invalid') return { status: 'refused', message: 'the certificate attributes need attention', problems: r.problems };
    if (r.status !== 'ok') return { status: 'refused', message: r.message };
    await this.directory.update({ kind: 'domain', domain: d }, { Certificate: r.pem });
    return { status: 'ok', certificate: describeCertificatePem(r.pem) };
  }

  async signingRequest(actor: Actor, domain: string, attributes: CertificateAttributes): Promise<SecurityResult<{ csr: string }>> {
    const d = await this.writable(actor, domain);
    const r = await generateSigningRequest(await this.keyOf(d), attributes, await this.names(d));
    if (r.status === 'invalid') return { status: 'refused', message: 'the certificate attributes need attention', problems: r.problems };
    if (r.status !== 'ok') return { status: 'refused', message: r.message };
    return { status: 'ok', csr: r.pem };
  }

  /** T6: refused unless it parses and matches the key; warnings for dates and names. */
  async setCertificate(actor: Actor, domain: string, pem: string): Promise<SecurityResult<{ certificate: CertificateDescription; warnings: CertificateWarning[] }>> {
    const d = await this.writable(actor, domain);
    const r = acceptCertificate(pem, await this.keyOf(d), await this.names(d));
    if (r.status !== 'ok') return { status: 'refused', message: r.message };
    await this.directory.update({ kind: 'domain', domain: d }, { Certificate: r.pem });
    return { status: 'ok', certificate: r.description, warnings: r.warnings };
  }

  async removeCertificate(actor: Actor, domain: string): Promise<SecurityResult> {
    const d = await this.writable(actor, domain);
    const s = await this.material(d);
    await this.directory.update({ kind: 'domain', domain: d }, { Certificate: null, ...(s.CertificateMode === 'Custom' ? { CertificateMode: 'Test' } : {}) });
    return { status: 'ok' };
  }

  /** T7: every certificate must parse; a missing link only warns. */
  async setChain(actor: Actor, domain: string, pem: string): Promise<SecurityResult<{ rows: ChainRow[]; warnings: ChainWarning[] }>> {
    const d = await this.writable(actor, domain);
    const s = await this.material(d);
    const r = checkChain(pem, s.Certificate ? { certificatePem: s.Certificate } : {});
    if (r.status !== 'ok') return { status: 'refused', message: r.message };
    await this.directory.update({ kind: 'domain', domain: d }, { CAChain: r.pem });
    return { status: 'ok', rows: r.rows, warnings: r.warnings };
  }

  async removeChain(actor: Actor, domain: string): Promise<SecurityResult> {
    const d = await this.writable(actor, domain);
    await this.directory.update({ kind: 'domain', domain: d }, { CAChain: null });
    return { status: 'ok' };
  }
}
