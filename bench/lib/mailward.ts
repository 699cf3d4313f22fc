/**
 * Mailward for the benchmark: a data directory prepared through the same services the CLI uses,
 * then the server started as its own process (`node bin/mailward.js start --data DIR`, or the
 * multi-core mode), so that /proc accounts for exactly its process tree.
 */
import { join } from 'node:path';
import { configureLogging } from '../../src/core/log.js';
import { freePort } from '../../src/backends/test/dovecot.js';
import { initDataDir, openServices } from '../../src/main.js';
import type { CgDict, CgValue } from '../../src/settings/format/types.js';
import { ROOT, SERVER_CPU, startProc, waitForGreeting, type BenchUser, type CertPair, type Proc } from './servers.js';

const LOCAL = { kind: 'local' } as const;

/** The domains of the benchmark: `bench.test` relays to Dovecot, `noback.test` has no backend
 *  (auth-only: the login is measured up to the authentication result, B2's temporary error),
 *  `stub.test` relays to the stub backend (memory test); `rsa.test` and `ec.test` carry the
 *  certificates the TLS runs choose by SNI. */
export const DOMAINS = { relay: 'bench.test', none: 'noback.test', stub: 'stub.test', rsa: 'rsa.test', ec: 'ec.test' } as const;

export interface MailwardPorts { imap: number; imaps: number; pop3: number }

export interface MailwardSetup {
  dataDir: string;
  ports: MailwardPorts;
}

/**
 * Prepares the data directory: listeners on loopback (clear IMAP and POP3 with clear-text
 * logins allowed, like the peers' plain ports; implicit-TLS IMAP), logs quiet (failures only:
 * the peers log no per-connection lines either), passwords stored in clear (as the peers'
 * tables hold them, so no hash cost enters the comparison), and the domains above.
 */
export async function prepareMailward(dataDir: string, o: {
  localNames: BenchUser[]; dovecot: { imapPort: number; pop3Port: number; master: BenchUser }; stubPort: number;
  certs: { rsa: CertPair; ec: CertPair };
}): Promise<MailwardSetup> {
  configureLogging({ defaultLevel: 'failure' });
  await initDataDir(dataDir, { mainDomain: DOMAINS.relay });
  const ports: MailwardPorts = { imap: await freePort(), imaps: await freePort(), pop3: await freePort() };
  const lst = (Port: number, TLS: string): CgDict => ({ Address: '127.0.0.1', Port: String(Port), TLS, ClearTextLogin: 'always' });
  const s = await openServices(dataDir);
  try {
    await s.admin.updateServerSettings(LOCAL, {
      Listeners: { IMAP: [lst(ports.imap, 'clear'), lst(ports.imaps, 'implicit')], POP: [lst(ports.pop3, 'clear')], SMTP: [], HTTPA: [], HTTPU: [], PWD: [] },
      LogLevel: process.env.MW_BENCH_LOG ?? 'failure',
      TLSLogLevel: 'failure',
    });
    await s.admin.updateServerAccountDefaults(LOCAL, { PasswordEncryption: 'clear' });
    const backend = (port: number, pop: number): CgDict => ({
      BackendHost: '127.0.0.1', BackendIMAPPort: String(port), BackendPOPPort: String(pop), BackendLogin: 'master',
      BackendMasterUser: o.dovecot.master.user, BackendMasterPassword: o.dovecot.master.password, BackendMasterStyle: 'authzid',
    });
    await s.admin.updateDomainSettings(LOCAL, DOMAINS.relay, backend(o.dovecot.imapPort, o.dovecot.pop3Port));
    await s.admin.createDomain(LOCAL, DOMAINS.none, { BackendHost: '' });
    await s.admin.createDomain(LOCAL, DOMAINS.stub, backend(o.stubPort, 0));
    await s.admin.createDomain(LOCAL, DOMAINS.rsa, { CertificateMode: 'Custom', PrivateKey: o.certs.rsa.key, Certificate: o.certs.rsa.cert });
    await s.admin.createDomain(LOCAL, DOMAINS.ec, { CertificateMode: 'Custom', PrivateKey: o.certs.ec.key, Certificate: o.certs.ec.cert });
    for (const d of [DOMAINS.relay, DOMAINS.none, DOMAINS.stub]) {
      for (const u of o.localNames) await s.admin.createAccount(LOCAL, `${u.user}@${d}`, {}, u.password);
    }
  } finally {
    await s.close();
  }
  return { dataDir, ports };
}

/** Changes server settings while the server is stopped (the store is locked while it runs). */
export async function updateMailwardServer(m: MailwardSetup, change: Record<string, CgValue | null>): Promise<void> {
  const s = await openServices(m.dataDir);
  try {
    await s.admin.updateServerSettings(LOCAL, change);
  } finally {
    await s.close();
  }
}

/** Starts the server process: `workers` undefined = the ordinary single process
 *  (`mailward start`); a number = the multi-core mode with that many workers. */
export async function startMailward(m: MailwardSetup, opts: { workers?: number; cpus?: string; env?: NodeJS.ProcessEnv; nodeFlags?: string[] } = {}): Promise<Proc> {
  // MW_BENCH_NODE_FLAGS: V8/Node flags for Mailward's process, for experiments (e.g. GC sizes).
  const extra = (process.env.MW_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const node = [process.execPath, ...extra, ...(opts.nodeFlags ?? [])];
  const argv = opts.workers === undefined
    ? [...node, join(ROOT, 'bin/mailward.js'), 'start', '--data', m.dataDir]
    : [...node, join(ROOT, 'dist/bench/mailward-cluster.js'), m.dataDir, String(opts.workers)];
  const p = startProc(opts.workers === undefined ? 'mailward' : `mailward-x${opts.workers}`, argv, { cpus: opts.cpus ?? SERVER_CPU, ...(opts.env ? { env: opts.env } : {}) });
  try {
    await waitForGreeting(m.ports.imap, /Mailward ready/, p);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}
