/**
 * Lock-out counters (H2) shared by the processes of the multi-core mode (src/cluster.ts).
 *
 * The primary keeps the one `LockoutCounters` (InProcessLockout) and answers its workers over
 * the node:cluster IPC channel (`serveLockout`); each worker's engine uses an `IpcLockout`, which
 * asks the primary. So "N failures within T" holds for the whole server whichever worker an
 * attempt lands on, an admin's unlock (served by the primary) clears it for every worker, and a
 * worker that is replaced forgets nothing.
 *
 * Every request carries an id and waits at most LOCKOUT_IPC_TIMEOUT_MS: a primary that does not
 * answer makes the login a temporary failure (the engine turns a rejected promise into one),
 * never a hang and never a login that skips the lock-out check.
 */
import type { Serializable } from 'node:child_process';
import type { Worker } from 'node:cluster';
import { MailwardError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { LockoutCounters, LockoutState } from './lockout.js';

const log = logger('AUTH');

/** How long a worker waits for the primary's answer. The primary answers from memory in
 *  microseconds; seconds mean it is stuck or gone, and a client should hear "try again later"
 *  rather than wait on: 3 s is well inside IMAP/POP/SMTP clients' own timeouts. */
export const LOCKOUT_IPC_TIMEOUT_MS = 3000;

/** Most requests a worker keeps waiting at once. Each login has at most one outstanding; more
 *  than this means the primary is not answering, and further requests fail at once instead of
 *  growing memory under a flood. */
export const LOCKOUT_IPC_MAX_PENDING = 4096;

/** Longest key accepted: `account@domain`, each part at most 255 characters as names allow,
 *  with room to spare; a longer key is not one the engine makes. */
export const LOCKOUT_KEY_MAX = 1024;

/** Message tags: the IPC channel also carries the cluster's own messages ('ready', 'retire'). */
const REQUEST = 'mw.lockout';
const REPLY = 'mw.lockout.reply';

export type LockoutRequest =
  | { t: typeof REQUEST; id: number; op: 'state'; key: string; now: number; periodMs: number }
  | { t: typeof REQUEST; id: number; op: 'fail'; key: string; now: number; limit: number; periodMs: number }
  | { t: typeof REQUEST; id: number; op: 'unlock'; key: string };

export type LockoutReply =
  | { t: typeof REPLY; id: number; state: LockoutState }
  | { t: typeof REPLY; id: number; error: string };

/** One end of an IPC channel: a cluster Worker on the primary's side, `process` in a worker. */
export interface IpcChannel {
  /** False when the message could not be queued (the channel is closed). */
  send(message: unknown): boolean;
  /** Subscribes to incoming messages; returns the unsubscribe function. */
  onMessage(fn: (message: unknown) => void): () => void;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isKey = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= LOCKOUT_KEY_MAX;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * A request as the primary reads it: `null` for a message that is not a lock-out request at all
 * (the cluster's own messages), `{ bad }` for one that claims to be but is malformed (answered
 * with an error when it has an id), else the request.
 */
export function parseLockoutRequest(m: unknown): LockoutRequest | { bad: string; id: number | null } | null {
  if (!isObj(m) || m.t !== REQUEST) return null;
  const id = isId(m.id) ? m.id : null;
  const bad = (why: string) => ({ bad: why, id });
  if (id === null) return bad('id');
  if (!isKey(m.key)) return bad('key');
  switch (m.op) {
    case 'state':
      if (!isTime(m.now) || !isTime(m.periodMs)) return bad('times');
      return { t: REQUEST, id, op: 'state', key: m.key, now: m.now, periodMs: m.periodMs };
    case 'fail':
      if (!isTime(m.now) || !isTime(m.periodMs)) return bad('times');
      if (!isCount(m.limit)) return bad('limit');
      return { t: REQUEST, id, op: 'fail', key: m.key, now: m.now, limit: m.limit, periodMs: m.periodMs };
    case 'unlock':
      return { t: REQUEST, id, op: 'unlock', key: m.key };
    default:
      return bad('op');
  }
}

/** A reply as a worker reads it: `null` when the message is not a well-formed lock-out reply. */
export function parseLockoutReply(m: unknown): LockoutReply | null {
  if (!isObj(m) || m.t !== REPLY || !isId(m.id)) return null;
  if (typeof m.error === 'string') return { t: REPLY, id: m.id, error: m.error.slice(0, 200) };
  const s = m.state;
  if (!isObj(s) || !isCount(s.failures) || !(s.lockedUntil === null || isTime(s.lockedUntil))) return null;
  return { t: REPLY, id: m.id, state: { failures: s.failures, lockedUntil: s.lockedUntil } };
}

/**
 * The primary's side: answers the lock-out requests that arrive on `channel` from `counters`.
 * Returns the function that stops answering (when the worker has gone).
 */
export function serveLockout(channel: IpcChannel, counters: LockoutCounters): () => void {
  return channel.onMessage((m) => {
    const r = parseLockoutRequest(m);
    if (r === null) return;
    if ('bad' in r) {
      log.failure('auth.lockout.ipc.malformed', { field: r.bad });
      if (r.id !== null) channel.send({ t: REPLY, id: r.id, error: `malformed request (${r.bad})` } satisfies LockoutReply);
      return;
    }
    const answer = r.op === 'state' ? counters.state(r.key, r.now, r.periodMs)
      : r.op === 'fail' ? counters.recordFailure(r.key, r.now, r.limit, r.periodMs)
        : counters.unlock(r.key).then((): LockoutState => ({ failures: 0, lockedUntil: null }));
    answer.then(
      (state) => { channel.send({ t: REPLY, id: r.id, state } satisfies LockoutReply); },
      (e: unknown) => {
        log.failure('auth.lockout.ipc.error', { error: e });
        channel.send({ t: REPLY, id: r.id, error: 'lock-out counters failed' } satisfies LockoutReply);
      },
    );
  });
}

interface Pending { resolve(s: LockoutState): void; reject(e: Error): void; timer: NodeJS.Timeout }

const unavailable = (why: string) => new MailwardError('store.io', `lock-out counters unavailable: ${why}`);

/** A worker's counters: every call is a request to the primary (see the module comment). */
export class IpcLockout implements LockoutCounters {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly timeoutMs: number;
  private readonly unsubscribe: () => void;

  constructor(private readonly channel: IpcChannel, opts: { timeoutMs?: number } = {}) {
    this.timeoutMs = opts.timeoutMs ?? LOCKOUT_IPC_TIMEOUT_MS;
    this.unsubscribe = channel.onMessage((m) => this.onMessage(m));
  }

  recordFailure(key: string, now: number, limit: number, periodMs: number): Promise<LockoutState> {
    return this.ask({ op: 'fail', key, now, limit, periodMs });
  }

  state(key: string, now: number, periodMs: number): Promise<LockoutState> {
    return this.ask({ op: 'state', key, now, periodMs });
  }

  async unlock(key: string): Promise<void> {
    await this.ask({ op: 'unlock', key });
  }

  /** Requests waiting for an answer (tests; a health view). */
  waiting(): number {
    return this.pending.size;
  }

  /** Fails every waiting request and stops listening (the worker is stopping). */
  close(): void {
    this.unsubscribe();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(unavailable('worker stopping'));
    }
  }

  private ask(body: { op: 'state'; key: string; now: number; periodMs: number }
    | { op: 'fail'; key: string; now: number; limit: number; periodMs: number }
    | { op: 'unlock'; key: string }): Promise<LockoutState> {
    if (this.pending.size >= LOCKOUT_IPC_MAX_PENDING) return Promise.reject(unavailable('too many requests waiting for the primary'));
    const id = this.nextId;
    // Ids wrap long before they lose integer precision; an id still pending after a wrap would
    // need 2^31 requests within one timeout.
    this.nextId = (this.nextId + 1) % 0x7fffffff;
    return new Promise<LockoutState>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        log.failure('auth.lockout.ipc.timeout', { op: body.op, timeoutMs: this.timeoutMs });
        reject(unavailable(`no answer from the primary within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      let sent: boolean;
      try {
        sent = this.channel.send({ t: REQUEST, id, ...body } satisfies LockoutRequest);
      } catch {
        sent = false;
      }
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(unavailable('the channel to the primary is closed'));
      }
    });
  }

  private onMessage(m: unknown): void {
    const r = parseLockoutReply(m);
    if (!r) return;
    const p = this.pending.get(r.id);
    // An answer that arrives after its timeout finds nothing: the login already failed.
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if ('error' in r) p.reject(unavailable(r.error));
    else p.resolve(r.state);
  }
}

/** The worker's channel to the primary: `process` of a forked worker. A send that fails after
 *  the check (the primary just went away) reports to its callback, not as an 'error' event
 *  that would end the process: the request then times out like any unanswered one. */
export function processChannel(proc: NodeJS.Process = process): IpcChannel {
  return {
    send: (m) => (proc.connected && proc.send ? proc.send(m, undefined, {}, () => {}) : false),
    onMessage: (fn) => { proc.on('message', fn); return () => { proc.off('message', fn); }; },
  };
}

/** The primary's channel to one worker (a node:cluster Worker). */
export function workerChannel(w: Worker): IpcChannel {
  return {
    send: (m) => (w.isConnected() ? w.send(m as Serializable, undefined, {}, () => {}) : false),
    onMessage: (fn) => { w.on('message', fn); return () => { w.off('message', fn); }; },
  };
}
