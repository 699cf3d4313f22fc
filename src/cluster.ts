/**
 * Multi-core mode: one primary process and N workers (node:cluster), each worker a full runtime
 * (authentication engine, TLS resolver, IMAP/POP3/SMTP listeners) over the same data directory.
 *
 * - Listening sockets are shared: the primary binds each address once and every worker accepts
 *   on it (SCHED_NONE: the kernel hands each connection to one worker; the primary never
 *   touches client bytes, so it is no bottleneck).
 * - The data-directory lock (one writer per directory, S1) is held by the primary, which is also
 *   the only writer: it runs the admin port (PWD). Workers open the store without the lock and
 *   only read.
 * - Settings: a worker's directory caches what it read, and only its own writes invalidate that
 *   cache. So when the primary's directory changes, the workers are replaced one at a time: a
 *   new worker starts (reading the new settings), then the old one stops accepting and exits
 *   once its connections, relayed sessions included, have ended.
 * - Per-worker state (say so to admins; docs/benchmarks.md and the report repeat it):
 *   lock-out counters (H2) are per worker, so an attacker spread over N workers can make up to
 *   N x LoginFailureLimit attempts per period, and a worker replacement forgets them;
 *   TLS session tickets and session IDs (T2) resume only on the worker that issued them (a
 *   resumption landing elsewhere becomes a full handshake); each worker makes its own Test
 *   Certificate (T3).
 * - A worker that dies is replaced after WORKER_RESTART_DELAY_MS.
 */
import cluster, { type Worker } from 'node:cluster';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configureLogging, logger } from './core/log.js';
import { AdminService } from './admin/service.js';
import { PasswordService } from './auth/password-service.js';
import { Directory } from './directory/directory.js';
import { addProtocolListeners, openServices } from './main.js';
import { Runtime } from './runtime.js';
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

type ToPrimary = { type: 'ready' } | { type: 'failed'; message: string };
type ToWorker = { type: 'retire' };

export interface ClusterHandle {
  workers(): number;
  stop(): Promise<void>;
}

/** Starts the primary: opens (and locks) the data directory, which must be initialised, runs
 *  the admin port, and forks `workers` workers that serve the mail protocols. */
export async function startCluster(dataDir: string, opts: { workers: number; print?: (line: string) => void }): Promise<ClusterHandle> {
  if (!cluster.isPrimary) throw new Error('startCluster in a worker');
  const n = Math.trunc(opts.workers);
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new RangeError(`workers must be from 1 to ${MAX_WORKERS}`);
  const print = opts.print ?? (() => {});
  const dir = resolve(dataDir);
  const services = await openServices(dir);
  let runtime: Runtime | null = null;
  try {
    const settings = await services.directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    runtime = await Runtime.start(services.directory, services.passwords);
    // The primary is the only writer: it serves the admin port, with lock-out reads and unlocks.
    const admin = new AdminService(services.directory, services.passwords, runtime.engine);
    await addProtocolListeners(runtime, { directory: services.directory, admin }, ['PWD']);
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

  const fork = (): Promise<Worker> => new Promise((resolveFork) => {
    const w = cluster.fork({ [WORKER_ENV]: dir });
    live.add(w);
    const t = setTimeout(() => { log.failure('cluster.worker.slow', { pid: w.process.pid }); resolveFork(w); }, WORKER_START_TIMEOUT_MS);
    w.on('message', (m: ToPrimary) => {
      if (m.type === 'ready') { clearTimeout(t); resolveFork(w); }
      if (m.type === 'failed') log.failure('cluster.worker.failed', { pid: w.process.pid, message: m.message });
    });
    w.once('exit', (code, signal) => {
      clearTimeout(t);
      resolveFork(w);
      const retired = !live.has(w);
      live.delete(w);
      if (stopping || retired) return;
      log.failure('cluster.worker.died', { pid: w.process.pid, code, signal });
      setTimeout(() => { if (!stopping) void fork(); }, WORKER_RESTART_DELAY_MS).unref();
    });
  });

  // Settings changed (through the admin port, the only writer): replace the workers one by one.
  let replacing: Promise<void> = Promise.resolve();
  const unsubscribe = services.directory.onChange(() => {
    replacing = replacing.then(async () => {
      for (const old of [...live]) {
        if (stopping) return;
        await fork();
        live.delete(old);
        old.send({ type: 'retire' } satisfies ToWorker);
      }
    });
  });

  for (let i = 0; i < n; i++) await fork();
  print(`Mailward started on ${dir} with ${n} worker${n === 1 ? '' : 's'} (multi-core mode)`);
  log.major('cluster.started', { dataDir: dir, workers: n });
  return {
    workers: () => live.size,
    async stop() {
      stopping = true;
      unsubscribe();
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
 *  runtime, and the mail listeners on the sockets the primary shares. */
async function runWorker(dir: string): Promise<void> {
  const send = (m: ToPrimary): void => { process.send?.(m); };
  try {
    const store = await openFileStore(dir, { lock: false });
    const directory = new Directory(store);
    const passwords = new PasswordService(directory);
    const settings = await directory.serverSettings();
    configureLogging({ defaultLevel: settings.values.LogLevel, levels: settings.values.LogLevels });
    const runtime = await Runtime.start(directory, passwords);
    // Workers serve no admin port; the admin service only satisfies the listener wiring.
    await addProtocolListeners(runtime, { directory, admin: new AdminService(directory, passwords, runtime.engine) }, ['IMAP', 'POP', 'SMTP']);
    const stop = async (): Promise<void> => { await runtime.stop(); await store.close(); process.exit(0); };
    process.on('message', (m: ToWorker) => {
      if (m.type !== 'retire') return;
      // Stop accepting; disconnect fires once every listening socket and, with it, every
      // connection this worker still serves has closed.
      cluster.worker?.once('disconnect', () => { void stop(); });
      cluster.worker?.disconnect();
    });
    process.once('SIGTERM', () => { void stop(); });
    send({ type: 'ready' });
  } catch (e) {
    send({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
}

const workerDir = process.env[WORKER_ENV];
if (cluster.isWorker && workerDir) void runWorker(workerDir);
