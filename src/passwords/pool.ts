/**
 * A small pool of worker threads for the crypt(3)-family schemes, whose hashing is JavaScript and
 * would otherwise run on the event loop (SHA-crypt's 5,000 rounds are milliseconds of CPU per
 * login, enough to stall every connection of the process). Workers start on first use, are
 * unref'd while idle (an idle pool never keeps the process alive), and are replaced if one dies
 * or overruns its time-out.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { CryptReply, CryptRequest, CryptTask } from './crypt-task.js';
import { logger } from '../core/log.js';

/** Threads: one per core up to 4. More threads than cores only adds contention, and argon2 and
 *  bcrypt run on libuv's own pool beside these. */
export const CRYPT_POOL_SIZE = Math.max(1, Math.min(4, availableParallelism()));

/** Jobs waiting for a thread. Beyond this a login is answered "busy" (a temporary failure) at
 *  once rather than queued for seconds: a flood of logins against slow legacy hashes must not
 *  grow memory and latency without bound. */
export const CRYPT_QUEUE_MAX = 256;

/** Longest one job may run: the slowest stored form within the limits (SHA-512-crypt at
 *  SHACRYPT_MAX_ROUNDS) takes about 3 s here; past 30 s the thread is stuck and is replaced. */
export const CRYPT_JOB_TIMEOUT_MS = 30_000;

export type CryptJobResult = { status: 'done'; hash: string } | { status: 'busy' } | { status: 'error'; reason: string };

interface Job { id: number; task: CryptTask; resolve: (r: CryptJobResult) => void }
interface Slot { worker: Worker; job: Job | null; timer: NodeJS.Timeout | null }

const log = logger('AUTH');

export interface CryptPoolOptions { size?: number; queueMax?: number; timeoutMs?: number }

export class CryptPool {
  readonly size: number;
  readonly queueMax: number;
  readonly timeoutMs: number;
  readonly #slots: (Slot | null)[];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: CryptPoolOptions = {}) {
    this.size = options.size ?? CRYPT_POOL_SIZE;
    this.queueMax = options.queueMax ?? CRYPT_QUEUE_MAX;
    this.timeoutMs = options.timeoutMs ?? CRYPT_JOB_TIMEOUT_MS;
    this.#slots = new Array<Slot | null>(this.size).fill(null);
  }

  /** Runs one task; resolves (never rejects) with the hash or why there is none. */
  run(task: CryptTask): Promise<CryptJobResult> {
    if (this.#closed) return Promise.resolve({ status: 'error', reason: 'pool closed' });
    return new Promise((resolve) => {
      const job: Job = { id: this.#nextId++, task, resolve };
      const idle = this.#idleSlot();
      if (idle !== null) {
        this.#start(idle, job);
      } else if (this.#queue.length >= this.queueMax) {
        resolve({ status: 'busy' });
      } else {
        this.#queue.push(job);
      }
    });
  }

  /** Threads currently running (for tests and monitoring). */
  get threads(): number {
    return this.#slots.filter((s) => s !== null).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.resolve({ status: 'error', reason: 'pool closed' });
    const slots = this.#slots.splice(0, this.#slots.length, ...new Array<Slot | null>(this.size).fill(null));
    await Promise.all(slots.map(async (s) => {
      if (!s) return;
      if (s.timer) clearTimeout(s.timer);
      s.job?.resolve({ status: 'error', reason: 'pool closed' });
      s.job = null;
      await s.worker.terminate();
    }));
  }

  #idleSlot(): number | null {
    let empty: number | null = null;
    for (let i = 0; i < this.#slots.length; i++) {
      const s = this.#slots[i];
      if (s && s.job === null) return i;
      if (!s && empty === null) empty = i;
    }
    return empty;
  }

  #spawn(index: number): Slot {
    const worker = new Worker(new URL('./crypt-worker.js', import.meta.url));
    const slot: Slot = { worker, job: null, timer: null };
    worker.on('message', (reply: CryptReply) => {
      const job = slot.job;
      if (!job || reply.id !== job.id) return;
      this.#finish(index, slot, 'hash' in reply ? { status: 'done', hash: reply.hash } : { status: 'error', reason: reply.error });
    });
    worker.on('error', (err) => {
      log.problem('password.workerError', { error: err });
      this.#lose(index, slot, 'worker error');
    });
    worker.on('exit', () => this.#lose(index, slot, 'worker exited'));
    worker.unref();
    this.#slots[index] = slot;
    return slot;
  }

  #start(index: number, job: Job): void {
    const slot = this.#slots[index] ?? this.#spawn(index);
    slot.job = job;
    slot.worker.ref(); // a pending login keeps the process alive; an idle pool does not
    slot.timer = setTimeout(() => {
      log.problem('password.workerTimeout', { timeoutMs: this.timeoutMs, algo: job.task.algo });
      this.#lose(index, slot, 'time-out');
      void slot.worker.terminate();
    }, this.timeoutMs);
    slot.worker.postMessage({ id: job.id, task: job.task } satisfies CryptRequest);
  }

  #finish(index: number, slot: Slot, result: CryptJobResult): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const job = slot.job;
    slot.job = null;
    slot.worker.unref();
    job?.resolve(result);
    this.#pump(index);
  }

  /** A slot's worker is gone or unusable: fail its job, forget it, let the queue go on. */
  #lose(index: number, slot: Slot, reason: string): void {
    if (this.#slots[index] !== slot) return; // already replaced
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    this.#slots[index] = null;
    const job = slot.job;
    slot.job = null;
    job?.resolve({ status: 'error', reason });
    this.#pump(index);
  }

  #pump(index: number): void {
    if (this.#closed) return;
    const next = this.#queue.shift();
    if (next) this.#start(index, next);
  }
}

let shared: CryptPool | null = null;

/** The process-wide pool the schemes use. */
export function cryptPool(): CryptPool {
  shared ??= new CryptPool();
  return shared;
}

/** Stops the shared pool's threads (shutdown, tests); the next use starts a new pool. */
export async function closeCryptPool(): Promise<void> {
  const p = shared;
  shared = null;
  await p?.close();
}
