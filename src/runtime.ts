/**
 * The running server's parts and how they follow the settings: the TLS resolver (test
 * certificate at start, T3; domain certificates, T8; TLS Sessions, T2), the authentication engine
 * with its password sources, and the services that hold sockets. Every change written through the
 * directory reaches the part it concerns, for new connections, without a restart.
 */
import { logger, setModuleLevel, configureLogging } from './core/log.js';
import type { Directory, DirectoryChange } from './directory/directory.js';
import { AuthEngine } from './auth/engine.js';
import { InProcessLockout, type LockoutCounters } from './auth/lockout.js';
import { PasswordService } from './auth/password-service.js';
import { ExternalAuthManager, PamPasswords } from './auth/runtime.js';
import { TlsContextResolver, type DomainTlsConfig } from './tls/context.js';
import { TlsSessions } from './tls/sessions.js';
import { makeTestCertificate, type TestCertificate } from './tls/test-certificate.js';
import type { ServerSettings } from './settings/schema.js';
import { ListenerSet } from './protocols/common/listener.js';
import type { ServiceName } from './protocols/common/session.js';

const log = logger('SYSTEM');

/** A part of the server that holds resources and may need to follow setting changes. */
export interface ServerPart {
  readonly name: string;
  /** Called after the server settings changed. */
  reconfigure?(settings: ServerSettings): Promise<void>;
  stop(): Promise<void>;
}

export class Runtime {
  readonly sessions: TlsSessions;
  readonly tls: TlsContextResolver;
  readonly ext = new ExternalAuthManager();
  readonly engine: AuthEngine;
  testCertificate!: TestCertificate;
  /** The bound web listeners (set once the web servers run). */
  webAddresses: (service: 'HTTPA' | 'HTTPU') => { address: string; port: number; tls: string }[] = () => [];
  private readonly parts: ServerPart[] = [];
  private unsubscribe: (() => void) | null = null;
  /** Serialises reactions to changes, so a burst of writes is applied in order. */
  private applying: Promise<void> = Promise.resolve();

  private constructor(readonly directory: Directory, readonly passwords: PasswordService, settings: ServerSettings, readonly lockout: LockoutCounters) {
    this.sessions = new TlsSessions({ ttlSeconds: settings.TLSSessionTimeToLive });
    this.tls = new TlsContextResolver({ sessions: this.sessions, policy: tlsPolicy(settings) });
    this.engine = new AuthEngine({
      directory, lockout, passwords, os: new PamPasswords(), external: () => this.ext.get(),
    });
  }

  /**
   * `testCertificate`: use this Test Certificate (T3) instead of making one.
   * `lockout`: where the lock-out counters (H2) live. By default this process's memory; the
   * multi-core mode gives the primary's counters to the primary and an IPC client of them to each
   * worker (src/auth/lockout-ipc.ts), so every process enforces one count.
   */
  static async start(directory: Directory, passwords: PasswordService, opts: { lockout?: LockoutCounters; testCertificate?: TestCertificate } = {}): Promise<Runtime> {
    const settings = (await directory.serverSettings()).values;
    const rt = new Runtime(directory, passwords, settings, opts.lockout ?? new InProcessLockout());
    // T3: a given test certificate (the cluster primary's, so that every worker presents the one
    // a client may have accepted) is used while it names the current main domain.
    const given = opts.testCertificate;
    rt.testCertificate = given && given.mainDomain === settings.MainDomainName ? given : await makeTestCertificate(settings.MainDomainName);
    rt.tls.setTestCertificate(rt.testCertificate);
    await rt.applyServer(settings);
    await rt.applyDomains();
    rt.unsubscribe = directory.onChange((c) => rt.onChange(c));
    return rt;
  }

  /** Adds a part and applies the current settings to it (a listener binds its ports then). */
  async add(part: ServerPart): Promise<void> {
    this.parts.push(part);
    await part.reconfigure?.((await this.directory.serverSettings()).values);
  }

  private onChange(c: DirectoryChange): void {
    const domainsChanged = c.kind === 'domains' || c.ref.kind === 'domain';
    const serverChanged = c.kind === 'object' && c.ref.kind === 'server';
    if (!domainsChanged && !serverChanged) return;
    this.applying = this.applying.then(async () => {
      try {
        if (serverChanged) await this.applyServer((await this.directory.serverSettings()).values);
        await this.applyDomains();
      } catch (e) {
        log.failure('system.reconfigure.failed', { error: e });
      }
    });
  }

  /** The bound listeners of every service (ports, for the start banner and tests). */
  listeners(): { service: ServiceName; bound: ReturnType<ListenerSet['bound']> }[] {
    return this.parts.filter((p): p is ListenerPart => p instanceof ListenerPart).map((p) => ({ service: p.name, bound: p.set.bound() }));
  }

  /** Waits until every change seen so far has been applied (tests and the admin API use it). */
  settled(): Promise<void> {
    return this.applying;
  }

  private async applyServer(s: ServerSettings): Promise<void> {
    configureLogging({ defaultLevel: s.LogLevel, levels: s.LogLevels });
    setModuleLevel('TLS', s.TLSLogLevel);
    this.sessions.setTtl(s.TLSSessionTimeToLive);
    const p = this.tls.setPolicy(tlsPolicy(s));
    if (p.status !== 'ok') log.failure('tls.policy.invalid', { problems: p.problems });
    await this.ext.reconfigure(s);
    if (this.testCertificate && this.testCertificate.mainDomain !== s.MainDomainName) {
      this.testCertificate = await makeTestCertificate(s.MainDomainName);
      this.tls.setTestCertificate(this.testCertificate);
    }
    for (const part of this.parts) await part.reconfigure?.(s);
  }

  /** T8: every domain's names, addresses, mode and material, for the resolver. */
  private async applyDomains(): Promise<void> {
    const main = await this.directory.mainDomain();
    const configs: DomainTlsConfig[] = [];
    for (const name of await this.directory.listDomains()) {
      const s = (await this.directory.domainSettings(name)).values;
      configs.push({
        name,
        aliases: s.DomainAliases,
        localAddresses: s.LocalIPAddresses,
        mode: s.CertificateMode === 'No' ? 'no' : s.CertificateMode === 'Custom' ? 'custom' : 'test',
        ...(s.PrivateKey ? { keyPem: s.PrivateKey } : {}),
        ...(s.Certificate ? { certPem: s.Certificate } : {}),
        ...(s.CAChain ? { chainPem: s.CAChain } : {}),
      });
    }
    for (const p of this.tls.setDomains(configs, main)) log.problem('tls.domain.problem', { ...p });
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.applying;
    for (const part of [...this.parts].reverse()) {
      try { await part.stop(); } catch (e) { log.failure('system.stop.failed', { part: part.name, error: e }); }
    }
    await this.ext.stop();
    this.tls.close();
    this.sessions.stop();
  }
}

function tlsPolicy(s: ServerSettings) {
  return { minVersion: s.TLSMinVersion, ...(s.TLSCiphers ? { ciphers: s.TLSCiphers } : {}) };
}

/** The listeners of one service, following the `Listeners` setting (N3: Grant/Deny, N4: PROXY). */
export class ListenerPart implements ServerPart {
  constructor(readonly name: ServiceName, readonly set: ListenerSet) {}

  async reconfigure(s: ServerSettings): Promise<void> {
    for (const p of await this.set.update(s.Listeners[this.name] ?? [])) {
      log.failure('listener.bind.failed', { service: this.name, address: p.address, port: p.port, error: p.message });
    }
  }

  stop(): Promise<void> {
    return this.set.close({ connections: 'destroy' });
  }
}
