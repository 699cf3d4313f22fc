/**
 * Lock-out counters (H2) shared by the processes of the multi-core mode (src/cluster.ts).
 *
 * The primary keeps the one set of counters (`LockoutHub`, over an InProcessLockout) and answers
 * its workers over the node:cluster IPC channel; each worker's engine uses an `IpcLockout`. So
 * "N failures within T" holds for the whole server whichever worker an attempt lands on, an
 * admin's unlock (served by the primary) clears it for every worker, and a worker that is
 * replaced forgets nothing.
 *
 * - Failures and unlocks are requests to the primary, each with an id, waiting at most
 *   LOCKOUT_IPC_TIMEOUT_MS: a primary that does not answer makes the login a temporary failure
 *   (the engine turns a rejected promise into one), never a hang.
 * - The check every login makes (`state`) is answered from the worker's copy of the locks: the
 *   primary sends every new lock and unlock to every worker as it happens, and a whole copy to a
 *   worker when it starts. That keeps a round trip off every login. A lock set on one worker
 *   reaches the others within one IPC hop, far less than the time a password verification keeps
 *   concurrent guesses in flight in a single process anyway. The copy is trusted only while the
 *   primary answers: once a request has waited LOCKOUT_MIRROR_STALE_MS, or one failed, `state`
 *   asks the primary again (and so fails as temporary if it stays silent), so a stuck primary
 *   cannot open a window of guesses that are never counted.
 * - A state answered from the copy knows the lock, not the count: its `failures` is 0. The count
 *   lives in the primary, which serves the admin's views.
 */
import type { Serializable } from 'node:child_process';
import type { Worker } from 'node:cluster';
import { MailwardError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { InProcessLockout, type LockoutCounters, type LockoutState } from './lockout.js';

const log = logger('AUTH');

/** How long a worker waits for the primary's answer. The primary answers from memory in
 *  microseconds; seconds mean it is stuck or gone, and a client should hear "try again later"
 *  rather than wait on: 3 s is well inside IMAP/POP/SMTP clients' own timeouts. */
export const LOCKOUT_IPC_TIMEOUT_MS = 3000;

/** A request unanswered for this long makes a worker stop trusting its copy of the locks (see
 *  the module comment): long enough for a primary busy with a settings write, short enough that
 *  a stuck primary lets few uncounted guesses through before every login asks it. */
export const LOCKOUT_MIRROR_STALE_MS = 250;

/** Most requests a worker keeps waiting at once. Each login has at most one outstanding; more
 *  than this means the primary is not answering, and further requests fail at once instead of
 *  growing memory under a flood. */
export const LOCKOUT_IPC_MAX_PENDING = 4096;

/** Longest key accepted: `account@domain`, each part at most 255 characters as names allow,
 *  with room to spare; a longer key is not one the engine makes. */
export const LOCKOUT_KEY_MAX = 1024;

/** A worker's copy drops ended locks every this many new ones, which bounds it without a timer
 *  (it holds existing accounts only, like the primary's counters). */
const MIRROR_SWEEP_EVERY = 1024;

/** Message tags: the IPC channel also carries the cluster's own messages ('ready', 'retire'). */
const REQUEST = 'mw.lockout';
const REPLY = 'mw.lockout.reply';
const EVENT = 'mw.lockout.event';

export type LockoutRequest =
  | { t: typeof REQUEST; id: number; op: 'state'; key: string; now: number; periodMs: number }
  | { t: typeof REQUEST; id: number; op: 'fail'; key: string; now: number; limit: number; periodMs: number }
  | { t: typeof REQUEST; id: number; op: 'unlock'; key: string }
  | { t: typeof REQUEST; id: number; op: 'sync'; now: number };

export type LockoutReply =
  | { t: typeof REPLY; id: number; state: LockoutState }
  | { t: typeof REPLY; id: number; locks: [string, number][] }
  | { t: typeof REPLY; id: number; error: string };

/** The primary tells every worker of a new lock (its end) or an unlock (null). */
export interface LockoutEvent { t: typeof EVENT; key: string; lockedUntil: number | null }

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
  if (m.op === 'sync') return isTime(m.now) ? { t: REQUEST, id, op: 'sync', now: m.now } : bad('times');
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
  if (Array.isArray(m.locks)) {
    const locks: [string, number][] = [];
    for (const e of m.locks as unknown[]) {
      if (!Array.isArray(e) || e.length !== 2 || !isKey(e[0]) || !isTime(e[1])) return null;
      locks.push([e[0], e[1]]);
    }
    return { t: REPLY, id: m.id, locks };
  }
  const s = m.state;
  if (!isObj(s) || !isCount(s.failures) || !(s.lockedUntil === null || isTime(s.lockedUntil))) return null;
  return { t: REPLY, id: m.id, state: { failures: s.failures, lockedUntil: s.lockedUntil } };
}

/** An event as a worker reads it, or `null`. */
export function parseLockoutEvent(m: unknown): LockoutEvent | null {
  if (!isObj(m) || m.t !== EVENT || !isKey(m.key) || !(m.lockedUntil === null || isTime(m.lockedUntil))) return null;
  return { t: EVENT, key: m.key, lockedUntil: m.lockedUntil };
}

/**
 * The primary's counters: the primary's own engine uses it as its LockoutCounters, and `serve`
 * answers one worker's requests. Every lock and unlock, whoever caused it, goes to every worker.
 */
export class LockoutHub implements LockoutCounters {
  private readonly channels = new Set<IpcChannel>();

  constructor(private readonly counters: InProcessLockout = new InProcessLockout()) {}

  async recordFailure(key: string, now: number, limit: number, periodMs: number): Promise<LockoutState> {
    const st = await this.counters.recordFailure(key, now, limit, periodMs);
    if (st.lockedUntil !== null) this.broadcast({ t: EVENT, key, lockedUntil: st.lockedUntil });
    return st;
  }

  state(key: string, now: number, periodMs: number): Promise<LockoutState> {
    return this.counters.state(key, now, periodMs);
  }

  async unlock(key: string): Promise<void> {
    await this.counters.unlock(key);
    this.broadcast({ t: EVENT, key, lockedUntil: null });
  }

  /** Answers the lock-out requests arriving on `channel` and sends it the events; returns the
   *  function that stops (when the worker has gone). */
  serve(channel: IpcChannel): () => void {
    this.channels.add(channel);
    const unsubscribe = channel.onMessage((m) => this.onRequest(channel, m));
    return () => { unsubscribe(); this.channels.delete(channel); };
  }

  private broadcast(e: LockoutEvent): void {
    for (const c of this.channels) c.send(e);
  }

  private onRequest(channel: IpcChannel, m: unknown): void {
    const r = parseLockoutRequest(m);
    if (r === null) return;
    if ('bad' in r) {
      log.failure('auth.lockout.ipc.malformed', { field: r.bad });
      if (r.id !== null) channel.send({ t: REPLY, id: r.id, error: `malformed request (${r.bad})` } satisfies LockoutReply);
      return;
    }
    if (r.op === 'sync') {
      channel.send({ t: REPLY, id: r.id, locks: this.counters.locks(r.now) } satisfies LockoutReply);
      return;
    }
    const answer = r.op === 'state' ? this.state(r.key, r.now, r.periodMs)
      : r.op === 'fail' ? this.recordFailure(r.key, r.now, r.limit, r.periodMs)
        : this.unlock(r.key).then((): LockoutState => ({ failures: 0, lockedUntil: null }));
    answer.then(
      (state) => { channel.send({ t: REPLY, id: r.id, state } satisfies LockoutReply); },
      (e: unknown) => {
        log.failure('auth.lockout.ipc.error', { error: e });
        channel.send({ t: REPLY, id: r.id, error: 'lock-out counters failed' } satisfies LockoutReply);
      },
    );
  }
}

type Answer = { state: LockoutState } | { locks: [string, number][] };
interface Pending { resolve(a: Answer): void; reject(e: Error): void; timer: NodeJS.Timeout; sentAt: number }
type Body = { op: 'state'; key: string; now: number; periodMs: number }
  | { op: 'fail'; key: string; now: number; limit: number; periodMs: number }
  | { op: 'unlock'; key: string }
  | { op: 'sync'; now: number };

const unavailable = (why: string) => new MailwardError('store.io', `lock-out counters unavailable: ${why}`);

/** A worker's counters (see the module comment). */
export class IpcLockout implements LockoutCounters {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private readonly timeoutMs: number;
  private readonly staleMs: number;
  private readonly clock: () => number;
  private readonly unsubscribe: () => void;
  /** The copy of the primary's locks: key -> end. */
  private locks = new Map<string, number>();
  private synced = false;
  private syncing = false;
  /** A request timed out or failed since the last answer: the copy is not trusted. */
  private degraded = false;
  private sinceSweep = 0;
  /** Logins answered from the copy, and by asking the primary (tests; a health view). */
  readonly counts = { local: 0, asked: 0 };

  constructor(private readonly channel: IpcChannel, opts: { timeoutMs?: number; staleMs?: number; clock?: () => number } = {}) {
    this.timeoutMs = opts.timeoutMs ?? LOCKOUT_IPC_TIMEOUT_MS;
    this.staleMs = opts.staleMs ?? LOCKOUT_MIRROR_STALE_MS;
    this.clock = opts.clock ?? (() => performance.now());
    this.unsubscribe = channel.onMessage((m) => this.onMessage(m));
    this.sync();
  }

  async recordFailure(key: string, now: number, limit: number, periodMs: number): Promise<LockoutState> {
    const st = stateOf(await this.ask({ op: 'fail', key, now, limit, periodMs }));
    if (st.lockedUntil !== null) this.setLock(key, st.lockedUntil);
    return st;
  }

  async state(key: string, now: number, periodMs: number): Promise<LockoutState> {
    if (this.trusted()) {
      this.counts.local++;
      const until = this.locks.get(key);
      return { failures: 0, lockedUntil: until !== undefined && until > now ? until : null };
    }
    this.counts.asked++;
    if (!this.synced) this.sync();
    return stateOf(await this.ask({ op: 'state', key, now, periodMs }));
  }

  async unlock(key: string): Promise<void> {
    await this.ask({ op: 'unlock', key });
    this.locks.delete(key);
  }

  /** Requests waiting for an answer (tests; a health view). */
  waiting(): number {
    return this.pending.size;
  }

  /** Fails every waiting request and stops listening (the worker is stopping). */
  close(): void {
    this.unsubscribe();
    this.synced = false;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(unavailable('worker stopping'));
    }
  }

  /** The copy answers only when it is complete and the primary is known to answer. */
  private trusted(): boolean {
    if (!this.synced || this.degraded) return false;
    // The map keeps insertion order: its first entry is the oldest request still waiting.
    const oldest = this.pending.values().next();
    return oldest.done === true || this.clock() - oldest.value.sentAt < this.staleMs;
  }

  private sync(): void {
    if (this.syncing) return;
    this.syncing = true;
    this.ask({ op: 'sync', now: Date.now() }).then((a) => {
      this.syncing = false;
      if (!('locks' in a)) return;
      // The primary's whole state when it answered; the events sent after that follow this reply.
      this.locks = new Map(a.locks);
      this.synced = true;
    }, () => { this.syncing = false; });
  }

  private setLock(key: string, until: number): void {
    this.locks.set(key, until);
    if (++this.sinceSweep >= MIRROR_SWEEP_EVERY) {
      this.sinceSweep = 0;
      const now = Date.now();
      for (const [k, u] of this.locks) if (u <= now) this.locks.delete(k);
    }
  }

  private ask(body: Body): Promise<Answer> {
    if (this.pending.size >= LOCKOUT_IPC_MAX_PENDING) {
      this.degraded = true;
      return Promise.reject(unavailable('too many requests waiting for the primary'));
    }
    const id = this.nextId;
    // Ids wrap long before they lose integer precision; an id still pending after a wrap would
    // need 2^31 requests within one timeout.
    this.nextId = (this.nextId + 1) % 0x7fffffff;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.degraded = true;
        log.failure('auth.lockout.ipc.timeout', { op: body.op, timeoutMs: this.timeoutMs });
        reject(unavailable(`no answer from the primary within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer, sentAt: this.clock() });
      let sent: boolean;
      try {
        sent = this.channel.send({ t: REQUEST, id, ...body } satisfies LockoutRequest);
      } catch {
        sent = false;
      }
      if (!sent) {
        clearTimeout(timer);
        this.pending.delete(id);
        this.degraded = true;
        reject(unavailable('the channel to the primary is closed'));
      }
    });
  }

  private onMessage(m: unknown): void {
    const e = parseLockoutEvent(m);
    if (e) {
      if (e.lockedUntil === null) this.locks.delete(e.key);
      else this.setLock(e.key, e.lockedUntil);
      return;
    }
    const r = parseLockoutReply(m);
    if (!r) return;
    const p = this.pending.get(r.id);
    // An answer that arrives after its timeout finds nothing: the login already failed.
    if (!p) return;
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if ('error' in r) {
      this.degraded = true;
      p.reject(unavailable(r.error));
      return;
    }
    // The primary answered: the copy (kept current by its events) can be trusted again.
    this.degraded = false;
    p.resolve('locks' in r ? { locks: r.locks } : { state: r.state });
  }
}

function stateOf(a: Answer): LockoutState {
  if ('state' in a) return a.state;
  throw unavailable('unexpected answer');
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
