/**
 * Multi-core mode (`mailward start --workers N`): one primary process and N workers
 * (node:cluster), each worker a full runtime (authentication engine, TLS resolver, IMAP/POP3/SMTP
 * listeners) over the same data directory.
 *
 * - Listening sockets are shared: the primary binds each mail address once and every worker
 *   accepts on it (SCHED_NONE: the kernel hands each connection to one worker; the primary never
 *   touches mail clients' bytes, so it is no bottleneck).
 * - The data-directory lock (one writer per directory, S1) is held by the primary, which is also
 *   the only writer: it runs what writes settings or keeps state for the whole server - the PWD
 *   port, the WebAdmin with the JSON API and the WebUser (HTTPA, HTTPU; their sessions and login
 *   history live there). Workers open the store without the lock and only read.
 * - Lock-out (H2) is shared: the primary keeps the counters (LockoutHub), the workers report
 *   failures to it over the IPC channel and hold a copy of its locks that it keeps current
 *   (src/auth/lockout-ipc.ts), so N failures within T lock an account on every worker, an
 *   admin's unlock clears it everywhere and a replaced worker forgets nothing. A primary that
 *   does not answer makes a login a temporary failure, never a hang.
 * - Settings: a worker's directory caches what it read, and only its own writes invalidate that
 *   cache. So when the primary's directory changes, the workers are replaced one at a time: a
 *   new worker starts (reading the new settings), then the old one stops accepting and exits
 *   once its connections, relayed sessions included, have ended.
 * - TLS session tickets (T2) resume on every worker: the primary makes and rotates the ticket
 *   keys and sends them (over the IPC channel only) to each worker at its start and at every
 *   rotation. The Test Certificate (T3) is the primary's, sent the same way.
 * - Per worker (docs/operations.md says so to admins): TLS 1.2 session IDs (a server-side store;
 *   a resumption by ID landing on another worker becomes a full handshake), per-address
 *   connection counts and the H1 timing samples.
 * - A worker that dies is replaced after WORKER_RESTART_DELAY_MS.
 */
import cluster, { type Worker } from 'node:cluster';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { configureLogging, logger } from './core/log.js';
import { AdminService } from './admin/service.js';
import { IpcLockout, LockoutHub, processChannel, workerChannel } from './auth/lockout-ipc.js';
import { PasswordService } from './auth/password-service.js';
import { Directory } from './directory/directory.js';
import { START_HINT, addProtocolListeners, addWebListeners, listenerSummary, openForStart } from './main.js';
import { Runtime } from './runtime.js';
import type { TestCertificate } from './tls/test-certificate.js';
import { TICKET_KEYS_LENGTH, type SharedTicketKeys } from './tls/sessions.js';
import { openFileStore } from './settings/backends/files/index.js';

const log = logger('SYSTEM');

/** Environment variable that makes this module run a worker (set by the primary for its forks). */
const WORKER_ENV = 'MAILWARD_CLUSTER_DATA';

/** Pause before replacing a worker that died: a worker that crashes at start must not turn
 *  into a fork loop that eats the machine. */
export const WORKER_RESTART_DELAY_MS = 1000;

/** How long a new worker may take to have its listeners up before the replacement goes on
 *  anyway (its failure is logged): a test certificate and the settings take well under this. */
export const WORKER_START_TIMEOUT_MS = 30_000;

/** Most workers: more than the cores only adds context switches; 64 covers large machines. */
export const MAX_WORKERS = 64;

/** `--workers auto`: one worker per CPU this process may use, within MAX_WORKERS. */
export function autoWorkers(): number {
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()));
}

type ToPrimary = { type: 'want-start' } | { type: 'ready'; listeners: string[] } | { type: 'failed'; message: string };
/** The test certificate as it crosses the IPC channel (JSON: dates as text). */
interface CertMessage { mainDomain: string; keyPem: string; certPem: string; chainPem: string; validFrom: string; validTill: string }
/** Ticket keys as they cross the IPC channel (base64; secret, never logged). */
interface KeysMessage { current: { keys: string; createdAt: number }; previous?: { keys: string; createdAt: number } }
type ToWorker = { type: 'retire' } | { type: 'start'; testCertificate: CertMessage; ticketKeys: KeysMessage } | { type: 'ticket-keys'; ticketKeys: KeysMessage };

function keysMessage(k: SharedTicketKeys): KeysMessage {
  const one = (x: { keys: Buffer; createdAt: number }) => ({ keys: x.keys.toString('base64'), createdAt: x.createdAt });
  return { current: one(k.current), ...(k.previous ? { previous: one(k.previous) } : {}) };
}

/** The keys from a message, or null when it is not a well-formed keys message. */
function parseKeysMessage(m: unknown): SharedTicketKeys | null {
  const one = (x: unknown): { keys: Buffer; createdAt: number } | null => {
    const o = x as { keys?: unknown; createdAt?: unknown } | null;
    if (typeof o?.keys !== 'string' || typeof o.createdAt !== 'number' || !Number.isFinite(o.createdAt)) return null;
    const keys = Buffer.from(o.keys, 'base64');
    return keys.length === TICKET_KEYS_LENGTH ? { keys, createdAt: o.createdAt } : null;
  };
  const k = m as { current?: unknown; previous?: unknown } | null;
  const current = one(k?.current);
  if (!current) return null;
  if (k?.previous === undefined) return { current };
  const previous = one(k.previous);
  return previous ? { current, previous } : null;
}

/** How long a worker waits for the primary's start message before making its own test
 *  certificate: the primary sends it right after the fork, so this only matters if it is lost. */
const START_MESSAGE_TIMEOUT_MS = 10_000;

export interface ClusterHandle {
  workers(): number;
  stop(): Promise<void>;
}

/** Starts the primary: opens (and locks) the data directory, initialising it on first run,
 *  runs the PWD and web listeners with the shared lock-out counters, and forks `workers` workers
 *  that serve the mail protocols. */
export async function startCluster(dataDir: string, opts: { workers: number; mainDomain?: string; print?: (line: string) => void }): Promise<ClusterHandle> {
  if (!cluster.isPrimary) throw new Error('startCluster in a worker');
  const n = Math.trunc(opts.workers);
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new RangeError(`workers must be from 1 to ${MAX_WORKERS}`);
  const print = opts.print ?? (() => {});
  const services = await openForStart(resolve(dataDir), { print, ...(opts.mainDomain ? { mainDomain: opts.mainDomain } : {}) });
  const dir = services.dataDir;
  // H2 for the whole server: the primary's engine (PWD, web logins) uses these directly, the
  // workers through counters.serve below.
  const counters = new LockoutHub();
  let runtime: Runtime | null = null;
  try {
    const settings = await services.directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    runtime = await Runtime.start(services.directory, services.passwords, { lockout: counters });
    // The primary is the only writer: it serves the admin port and the web interfaces, whose
    // admin service reads and clears the shared lock-outs.
    const admin = new AdminService(services.directory, services.passwords, runtime.engine);
    await addProtocolListeners(runtime, { directory: services.directory, admin }, ['PWD']);
    await addWebListeners(services, runtime, admin);
  } catch (e) {
    await runtime?.stop();
    await services.close();
    throw e;
  }
  const rt = runtime;

  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({ exec: fileURLToPath(import.meta.url), args: [], silent: false });
  const live = new Set<Worker>();
  let stopping = false;
  let mailListeners: string[] | null = null;

  const fork = (): Promise<Worker> => new Promise((resolveFork) => {
    const w = cluster.fork({ [WORKER_ENV]: dir });
    live.add(w);
    const stopServing = counters.serve(workerChannel(w));
    // A send racing the worker's exit reports here instead of ending the primary.
    w.on('error', (e) => log.problem('cluster.worker.ipc', { pid: w.process.pid, error: e }));
    const t = setTimeout(() => { log.failure('cluster.worker.slow', { pid: w.process.pid }); resolveFork(w); }, WORKER_START_TIMEOUT_MS);
    w.on('message', (m: ToPrimary) => {
      if (m.type === 'want-start') {
        // T3: every worker presents the primary's test certificate, the one a client may have
        // accepted (over the IPC channel, not the environment, which other tools can read).
        // T2: and the primary's ticket keys, so that a ticket resumes on every worker.
        const c = rt.testCertificate;
        w.send({ type: 'start', testCertificate: { ...c, validFrom: c.validFrom.toISOString(), validTill: c.validTill.toISOString() }, ticketKeys: keysMessage(rt.sessions.exportTicketKeys()) } satisfies ToWorker);
      }
      if (m.type === 'ready') {
        clearTimeout(t);
        mailListeners ??= m.listeners;
        log.major('cluster.worker.ready', { pid: w.process.pid });
        resolveFork(w);
      }
      if (m.type === 'failed') log.failure('cluster.worker.failed', { pid: w.process.pid, message: m.message });
    });
    w.once('exit', (code, signal) => {
      clearTimeout(t);
      stopServing();
      resolveFork(w);
      const retired = !live.has(w);
      live.delete(w);
      if (stopping || retired) return;
      log.failure('cluster.worker.died', { pid: w.process.pid, code, signal });
      setTimeout(() => { if (!stopping) void fork(); }, WORKER_RESTART_DELAY_MS).unref();
    });
  });

  // T2: the primary rotates the ticket keys; every worker follows at once.
  const unsubscribeKeys = rt.sessions.onChange((change) => {
    if (change !== 'ticket-keys') return;
    const m = { type: 'ticket-keys', ticketKeys: keysMessage(rt.sessions.exportTicketKeys()) } satisfies ToWorker;
    for (const w of live) if (w.isConnected()) w.send(m);
  });

  // Settings changed (through the admin port, the only writer): replace the workers one by one.
  let replacing: Promise<void> = Promise.resolve();
  const unsubscribe = services.directory.onChange(() => {
    replacing = replacing.then(async () => {
      // The primary's runtime applies the change first (a new main domain: a new test
      // certificate), so the new workers start with what it will present too.
      await rt.settled();
      for (const old of [...live]) {
        if (stopping) return;
        await fork();
        live.delete(old);
        old.send({ type: 'retire' } satisfies ToWorker);
      }
    });
  });

  for (let i = 0; i < n; i++) await fork();
  const settings = (await services.directory.serverSettings()).values;
  print(`Mailward started on ${dir} with ${n} worker${n === 1 ? '' : 's'} (multi-core mode; primary pid ${process.pid}, workers ${[...live].map((w) => w.process.pid).join(', ')})`);
  print(`Main domain: ${settings.MainDomainName}; domains: ${(await services.directory.listDomains()).join(', ')}`);
  print(`Test certificate (every listener): CN=${rt.testCertificate.mainDomain}, issued by Mailward test, valid until ${rt.testCertificate.validTill.toISOString()}`);
  for (const line of mailListeners ?? ['IMAP, POP, SMTP: no worker reported its listeners (see the log)']) print(line.replace(/^(\w+):/, '$1 (every worker):'));
  for (const line of listenerSummary(rt)) print(line);
  print(START_HINT);
  log.major('cluster.started', { dataDir: dir, workers: n });
  return {
    workers: () => live.size,
    async stop() {
      stopping = true;
      unsubscribe();
      unsubscribeKeys();
      await replacing;
      await Promise.all([...live].map((w) => new Promise<void>((r) => {
        if (w.isDead()) { r(); return; }
        w.once('exit', () => r());
        w.process.kill('SIGTERM');
      })));
      await rt.stop();
      await services.close();
    },
  };
}

/** A worker: the store without the lock (the primary holds it and is the only writer), its own
 *  runtime with the primary's lock-out counters, and the mail listeners on the sockets the
 *  primary shares. */
async function runWorker(dir: string, started: Promise<StartMessage>): Promise<void> {
  const send = (m: ToPrimary): void => { process.send?.(m); };
  // Ctrl-C reaches the whole process group: the primary decides when workers stop.
  process.on('SIGINT', () => {});
  try {
    const store = await openFileStore(dir, { lock: false });
    const directory = new Directory(store);
    const passwords = new PasswordService(directory);
    const settings = await directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    const { testCertificate, ticketKeys } = await started;
    const lockout = new IpcLockout(processChannel());
    const runtime = await Runtime.start(directory, passwords, { lockout, ...(testCertificate ? { testCertificate } : {}) });
    if (ticketKeys) {
      // T2: the primary's keys and rotation, not this worker's own.
      runtime.sessions.stop();
      runtime.sessions.adoptTicketKeys(ticketKeys);
    }
    process.on('message', (m: ToWorker) => {
      if (m.type !== 'ticket-keys') return;
      const k = parseKeysMessage(m.ticketKeys);
      if (k) runtime.sessions.adoptTicketKeys(k);
    });
    // Workers serve no admin port; the admin service only satisfies the listener wiring.
    await addProtocolListeners(runtime, { directory, admin: new AdminService(directory, passwords, runtime.engine) }, ['IMAP', 'POP', 'SMTP']);
    const stop = async (): Promise<void> => { await runtime.stop(); lockout.close(); await store.close(); process.exit(0); };
    process.on('message', (m: ToWorker) => {
      if (m.type !== 'retire') return;
      // Stop accepting; disconnect fires once every listening socket and, with it, every
      // connection this worker still serves has closed (the IPC channel, and with it the
      // lock-out counters, stays up until then).
      cluster.worker?.once('disconnect', () => { void stop(); });
      cluster.worker?.disconnect();
    });
    process.once('SIGTERM', () => { void stop(); });
    send({ type: 'ready', listeners: listenerSummary(runtime, { web: false }) });
  } catch (e) {
    send({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
}

/** Asks the primary for its start message once the listener for it is in place (a message that
 *  arrives before a listener is lost); without an answer in time, the worker makes its own
 *  test certificate. */
interface StartMessage { testCertificate?: TestCertificate; ticketKeys?: SharedTicketKeys }

function startMessage(): Promise<StartMessage> {
  return new Promise((resolveStart) => {
    const t = setTimeout(() => { process.off('message', on); resolveStart({}); }, START_MESSAGE_TIMEOUT_MS);
    const on = (m: unknown): void => {
      const c = (m as { type?: unknown; testCertificate?: Partial<CertMessage> } | null)?.testCertificate;
      if ((m as { type?: unknown } | null)?.type !== 'start' || !c) return;
      clearTimeout(t);
      process.off('message', on);
      const ok = typeof c.mainDomain === 'string' && typeof c.keyPem === 'string' && typeof c.certPem === 'string' && typeof c.chainPem === 'string';
      const from = new Date(String(c.validFrom));
      const till = new Date(String(c.validTill));
      const testCertificate = ok && Number.isFinite(from.getTime()) && Number.isFinite(till.getTime())
        ? { mainDomain: c.mainDomain as string, keyPem: c.keyPem as string, certPem: c.certPem as string, chainPem: c.chainPem as string, validFrom: from, validTill: till }
        : undefined;
      const ticketKeys = parseKeysMessage((m as { ticketKeys?: unknown }).ticketKeys) ?? undefined;
      resolveStart({ ...(testCertificate ? { testCertificate } : {}), ...(ticketKeys ? { ticketKeys } : {}) });
    };
    process.on('message', on);
    process.send?.({ type: 'want-start' } satisfies ToPrimary);
  });
}

const workerDir = process.env[WORKER_ENV];
if (cluster.isWorker && workerDir) void runWorker(workerDir, startMessage());
