/**
 * The External Authentication client (E1–E4): runs the site's program as a child process and
 * speaks the line protocol of protocol.ts over its stdin/stdout.
 *
 * Guarantees the engine relies on:
 *   - every request resolves to a value (ok / error / unavailable), never throws, never hangs:
 *     each has a timer, and when the program dies every request in flight resolves `unavailable`
 *     at once;
 *   - many requests are in flight together; replies are matched by sequence number in any order;
 *     a reply with a number we are not waiting for, or a line that is not a reply, is logged and
 *     ignored;
 *   - the first command to each new process is `INTF 2`; requests made before the answer wait for
 *     it (bounded by their own timers), because whether `(mode)` is sent depends on it;
 *   - a program that exits is restarted after an exponential back-off (bounded); while waiting,
 *     requests are refused at once (`unavailable`, reason `restarting`) rather than left hanging;
 *   - stop() closes the program's stdin, as the reference says, and kills it (its whole process
 *     group, so a hung grandchild goes too) if it is still running after the grace period.
 * Nothing secret is logged: passwords and SASL responses are never put into a record, and a line
 * from the program is only previewed (short, escaped) when it is garbage.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { logger as makeLogger, Secret, type Logger } from '../../../core/log.js';
import {
  checkCommand, encodeCommand, formatSeq, LineSplitter, negotiatedVersion, parseReply, EXTAUTH_INTERFACE_VERSION,
  type Address, type Command,
} from './protocol.js';

/** How long one request may wait for its reply. Long enough for a program that consults a remote
 *  directory, short enough that a mail client's login does not appear dead. */
export const EXTAUTH_REQUEST_TIMEOUT_MS = 10_000;

/** How long a new program has to answer INTF. Longer than a request's time-out: starting an
 *  interpreter and loading its libraries on a busy host can take seconds. */
export const EXTAUTH_START_TIMEOUT_MS = 15_000;

/** How long a program has to quit after its stdin is closed: the reference says 5 seconds. */
export const EXTAUTH_STOP_GRACE_MS = 5_000;

/** First restart delay after the program dies, doubled at each consecutive death... */
export const EXTAUTH_RESTART_INITIAL_MS = 500;
/** ...up to this bound, so a broken program is retried about once a minute, not in a hot loop. */
export const EXTAUTH_RESTART_MAX_MS = 60_000;
/** A program that ran this long before dying counts as healthy: the next restart delay starts
 *  from the initial value again. */
export const EXTAUTH_STABLE_RUN_MS = 30_000;

/** Most requests in flight at once. Above it, new ones are refused at once: a flood of logins
 *  must not grow our memory or the program's backlog without bound. */
export const EXTAUTH_MAX_IN_FLIGHT = 4096;

/** After the program exits, how long we still read replies it wrote before dying (they may still
 *  be in the pipe) before failing what is left. */
export const EXTAUTH_EXIT_DRAIN_MS = 100;

/** Longest stderr line or garbage preview we log, in characters. */
const LOG_PREVIEW = 120;

export type ExternalUnavailableReason =
  | 'stopped' | 'stopping' | 'restarting' | 'program-exited' | 'timeout' | 'overloaded';

export type ExternalOutcome =
  /** The program said OK. `detail` is any text it put after OK (often empty). */
  | { status: 'ok'; detail: string }
  /** The program said ERROR (`origin: 'program'`), or Mailward refused to send the request because
   *  it could not be carried safely (`origin: 'mailward'`, e.g. a password with CR/LF). */
  | { status: 'error'; message: string; origin: 'program' | 'mailward' }
  /** No answer could be had: the program is not running, died, or did not answer in time. */
  | { status: 'unavailable'; reason: ExternalUnavailableReason };

export type PasswordInput = Secret<string | Buffer> | string | Buffer;

export interface ExternalAuthOptions {
  /** Path of the program (E1 "Program Path"). */
  program: string;
  /** Its arguments. */
  args?: readonly string[];
  /** Environment for the program; default: Mailward's own. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  requestTimeoutMs?: number;
  startTimeoutMs?: number;
  stopGraceMs?: number;
  restartInitialMs?: number;
  restartMaxMs?: number;
  stableRunMs?: number;
  maxInFlight?: number;
  /** Where records go; default logger('EXTAUTH'), whose level is the E1 "Log" setting. */
  logger?: Logger;
}

export type ExternalState = 'idle' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

export interface ExternalStatus {
  state: ExternalState;
  pid: number | undefined;
  /** The negotiated interface version of the running program (undefined before INTF is answered). */
  version: number | undefined;
  /** How many times the program has been started. */
  starts: number;
  inFlight: number;
}

interface Pending {
  seq: number;
  command: Command;
  timer: NodeJS.Timeout;
  written: boolean;
  resolve: (o: ExternalOutcome) => void;
  /** INTF is internal: its answer sets the version instead of resolving a caller. */
  intf?: { proc: Proc };
}

interface Proc {
  child: ChildProcess;
  pid: number | undefined;
  startedAt: number;
  version: number | undefined;
  exited: boolean;
  finished: boolean;
  drainTimer?: NodeJS.Timeout;
  killTimer?: NodeJS.Timeout;
}

function toBuffer(p: PasswordInput): Buffer {
  const v = p instanceof Secret ? p.reveal() : p;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function preview(s: string): string {
  const cut = s.length > LOG_PREVIEW ? `${s.slice(0, LOG_PREVIEW)}…` : s;
  return cut.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export class ExternalAuthenticator {
  readonly #opts: Required<Omit<ExternalAuthOptions, 'env' | 'cwd' | 'logger'>> & Pick<ExternalAuthOptions, 'env' | 'cwd'>;
  readonly #log: Logger;
  #state: ExternalState = 'idle';
  #proc: Proc | undefined;
  #nextSeq = 1;
  readonly #pending = new Map<number, Pending>();
  #starts = 0;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #stopWaiters: (() => void)[] = [];

  constructor(opts: ExternalAuthOptions) {
    this.#opts = {
      program: opts.program,
      args: opts.args ?? [],
      env: opts.env,
      cwd: opts.cwd,
      requestTimeoutMs: opts.requestTimeoutMs ?? EXTAUTH_REQUEST_TIMEOUT_MS,
      startTimeoutMs: opts.startTimeoutMs ?? EXTAUTH_START_TIMEOUT_MS,
      stopGraceMs: opts.stopGraceMs ?? EXTAUTH_STOP_GRACE_MS,
      restartInitialMs: opts.restartInitialMs ?? EXTAUTH_RESTART_INITIAL_MS,
      restartMaxMs: opts.restartMaxMs ?? EXTAUTH_RESTART_MAX_MS,
      stableRunMs: opts.stableRunMs ?? EXTAUTH_STABLE_RUN_MS,
      maxInFlight: opts.maxInFlight ?? EXTAUTH_MAX_IN_FLIGHT,
    };
    this.#log = (opts.logger ?? makeLogger('EXTAUTH')).child({ program: opts.program });
  }

  /** Starts the program (E1 "enabled"). Calling it again while running does nothing. */
  start(): void {
    if (this.#state !== 'idle' && this.#state !== 'stopped') return;
    this.#failures = 0;
    this.#spawn();
  }

  status(): ExternalStatus {
    const live = this.#proc && !this.#proc.finished ? this.#proc : undefined;
    return { state: this.#state, pid: live?.pid, version: live?.version, starts: this.#starts, inFlight: this.#pending.size };
  }

  /** Clear-text password check: `VRFY [(mode)] name@domain password`. `mode` is the service name
   *  (IMAP, POP, SMTP, HTTP...), sent only when the program speaks interface version 1 or more. */
  verify(req: Address & { password: PasswordInput; mode?: string }): Promise<ExternalOutcome> {
    return this.#request({ verb: 'VRFY', address: { name: req.name, domain: req.domain }, mode: req.mode, password: toBuffer(req.password) });
  }

  /** Secure-SASL check: `SASL(method) [(mode)] name@domain password key`, where `password` is the
   *  client's response and `key` the challenge we sent it (CRAM-MD5, APOP). */
  sasl(req: Address & { method: string; password: PasswordInput; key: string | Buffer; mode?: string }): Promise<ExternalOutcome> {
    return this.#request({
      verb: 'SASL', method: req.method, address: { name: req.name, domain: req.domain }, mode: req.mode,
      password: toBuffer(req.password), key: typeof req.key === 'string' ? Buffer.from(req.key, 'utf8') : req.key,
    });
  }

  /** An unknown name (E3): `NEW name@domain`. On `ok` the engine looks the name up again. */
  newName(req: Address): Promise<ExternalOutcome> {
    return this.#request({ verb: 'NEW', address: { name: req.name, domain: req.domain } });
  }

  /**
   * Stops the program: closes its stdin (the reference's way), and kills it if it has not quit
   * after the grace period. Requests already sent may still be answered meanwhile; requests not
   * yet sent, and new ones, get `unavailable`. Resolves once the program is gone.
   */
  stop(): Promise<void> {
    if (this.#restartTimer) { clearTimeout(this.#restartTimer); this.#restartTimer = undefined; }
    if (this.#state === 'idle' || this.#state === 'stopped' || this.#state === 'restarting' || !this.#proc || this.#proc.finished) {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    const done = new Promise<void>((resolve) => this.#stopWaiters.push(resolve));
    if (this.#state === 'stopping') return done;
    this.#state = 'stopping';
    const proc = this.#proc;
    for (const p of [...this.#pending.values()]) if (!p.written) this.#settle(p, { status: 'unavailable', reason: 'stopping' });
    this.#log.info('extauth.stopping', { pid: proc.pid, graceMs: this.#opts.stopGraceMs });
    proc.child.stdin?.end();
    proc.killTimer = setTimeout(() => {
      if (proc.exited) return;
      this.#log.problem('extauth.kill', { pid: proc.pid, why: 'still running after stdin was closed', graceMs: this.#opts.stopGraceMs });
      this.#killGroup(proc);
    }, this.#opts.stopGraceMs);
    return done;
  }

  #request(command: Command): Promise<ExternalOutcome> {
    const refused = checkCommand(command);
    if (refused !== null) {
      this.#log.info('extauth.refused', { command: command.verb, why: refused });
      return Promise.resolve({ status: 'error', message: refused, origin: 'mailward' });
    }
    switch (this.#state) {
      case 'idle': case 'stopped': return Promise.resolve({ status: 'unavailable', reason: 'stopped' });
      case 'stopping': return Promise.resolve({ status: 'unavailable', reason: 'stopping' });
      case 'restarting': return Promise.resolve({ status: 'unavailable', reason: 'restarting' });
      case 'starting': case 'running': break;
    }
    if (this.#pending.size >= this.#opts.maxInFlight) {
      this.#log.problem('extauth.overloaded', { inFlight: this.#pending.size });
      return Promise.resolve({ status: 'unavailable', reason: 'overloaded' });
    }
    return new Promise<ExternalOutcome>((resolve) => {
      const p = this.#newPending(command, resolve);
      if (this.#state === 'running') this.#write(p);
    });
  }

  #newPending(command: Command, resolve: (o: ExternalOutcome) => void, intf?: { proc: Proc }): Pending {
    const seq = this.#nextSeq++;
    const p: Pending = {
      seq, command, written: false, resolve, intf,
      timer: setTimeout(() => this.#timeout(p), intf ? this.#opts.startTimeoutMs : this.#opts.requestTimeoutMs),
    };
    this.#pending.set(seq, p);
    return p;
  }

  #write(p: Pending): void {
    const proc = this.#proc;
    const stdin = proc?.child.stdin;
    if (!proc || !stdin || proc.exited || stdin.destroyed || !stdin.writable) {
      this.#settle(p, { status: 'unavailable', reason: 'program-exited' });
      return;
    }
    p.written = true;
    const c = p.command;
    this.#log.low('extauth.request', {
      seq: formatSeq(p.seq), command: c.verb,
      ...(c.verb === 'INTF' ? {} : { account: `${c.address.name}@${c.address.domain}` }),
      ...((c.verb === 'VRFY' || c.verb === 'SASL') && c.mode !== undefined ? { mode: c.mode } : {}),
      ...(c.verb === 'SASL' ? { method: c.method } : {}),
    });
    stdin.write(encodeCommand(p.seq, proc.version ?? 0, c));
  }

  #settle(p: Pending, o: ExternalOutcome): void {
    if (this.#pending.get(p.seq) !== p) return;
    this.#pending.delete(p.seq);
    clearTimeout(p.timer);
    if (!p.intf) p.resolve(o);
  }

  #timeout(p: Pending): void {
    if (this.#pending.get(p.seq) !== p) return;
    if (p.intf) {
      this.#pending.delete(p.seq);
      const proc = p.intf.proc;
      this.#log.problem('extauth.intf-timeout', { pid: proc.pid, timeoutMs: this.#opts.startTimeoutMs });
      // A program that cannot answer INTF will answer nothing: start over with a fresh one.
      if (!proc.exited) this.#killGroup(proc);
      return;
    }
    this.#log.problem('extauth.timeout', { seq: formatSeq(p.seq), command: p.command.verb, timeoutMs: this.#opts.requestTimeoutMs });
    this.#settle(p, { status: 'unavailable', reason: 'timeout' });
  }

  #spawn(): void {
    this.#state = 'starting';
    this.#starts++;
    let child: ChildProcess;
    try {
      child = spawn(this.#opts.program, [...this.#opts.args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: this.#opts.env ?? process.env,
        cwd: this.#opts.cwd,
        // Its own process group, so a kill reaches anything it started too.
        detached: true,
      });
    } catch (e) {
      // spawn throws only for bad arguments (e.g. a NUL in the path): a configuration error.
      const delay = this.#nextDelay(0);
      this.#log.failure('extauth.spawn-failed', { error: e, restartInMs: delay });
      this.#state = 'restarting';
      this.#scheduleRestart(delay);
      return;
    }
    const proc: Proc = { child, pid: child.pid, startedAt: Date.now(), version: undefined, exited: false, finished: false };
    this.#proc = proc;
    const splitter = new LineSplitter();

    child.stdout?.on('data', (chunk: Buffer) => {
      splitter.push(chunk, (line) => this.#onLine(proc, line.toString('utf8')), () => {
        this.#log.problem('extauth.garbage', { pid: proc.pid, why: 'reply line too long' });
      });
    });
    const errSplitter = new LineSplitter();
    child.stderr?.on('data', (chunk: Buffer) => {
      errSplitter.push(chunk, (line) => this.#log.low('extauth.stderr', { pid: proc.pid, text: preview(line.toString('utf8')) }), () => undefined);
    });
    // EPIPE when the program dies with writes pending: the exit handler fails the requests.
    child.stdin?.on('error', (e) => this.#log.low('extauth.stdin-error', { pid: proc.pid, error: e }));
    child.stdout?.on('error', (e) => this.#log.low('extauth.stdout-error', { pid: proc.pid, error: e }));
    child.stderr?.on('error', (e) => this.#log.low('extauth.stderr-error', { pid: proc.pid, error: e }));

    child.on('error', (e) => {
      // Failed to start (ENOENT, EACCES), or a failed kill. When it never started, no 'exit' follows.
      this.#log.failure('extauth.process-error', { pid: proc.pid, error: e });
      if (child.pid === undefined) this.#finish(proc, { code: null, signal: null, error: (e as NodeJS.ErrnoException).code ?? e.message });
    });
    child.on('exit', (code, signal) => {
      proc.exited = true;
      // Replies written just before the exit may still be in the pipe: read them first.
      proc.drainTimer = setTimeout(() => this.#finish(proc, { code, signal }), EXTAUTH_EXIT_DRAIN_MS);
    });
    child.on('close', (code, signal) => {
      proc.exited = true;
      this.#finish(proc, { code, signal });
    });

    this.#log.info('extauth.started', { pid: proc.pid, args: this.#opts.args.length });
    const intf = this.#newPending({ verb: 'INTF' }, () => undefined, { proc });
    this.#write(intf);
  }

  #onLine(proc: Proc, line: string): void {
    if (proc !== this.#proc) return;
    const r = parseReply(line);
    if (r.kind === 'garbage') {
      this.#log.problem('extauth.garbage', { pid: proc.pid, why: r.why, line: preview(line) });
      return;
    }
    const p = this.#pending.get(r.seq);
    if (!p || !p.written) {
      // The program may answer a request that already timed out, or be confused: never guess.
      this.#log.problem('extauth.unknown-seq', { pid: proc.pid, seq: formatSeq(r.seq), reply: r.kind });
      return;
    }
    if (p.intf) {
      this.#settle(p, { status: 'ok', detail: '' });
      if (r.kind === 'ok') {
        const v = negotiatedVersion(r.text);
        proc.version = v.version;
        if (!v.readable) this.#log.problem('extauth.intf-unreadable', { pid: proc.pid, text: preview(r.text), version: 0 });
      } else {
        // A program too old to know INTF: speak the oldest protocol to it.
        proc.version = 0;
        this.#log.problem('extauth.intf-error', { pid: proc.pid, message: preview(r.message), version: 0 });
      }
      this.#log.info('extauth.ready', { pid: proc.pid, version: proc.version, ours: EXTAUTH_INTERFACE_VERSION });
      if (this.#state === 'starting') {
        this.#state = 'running';
        for (const q of [...this.#pending.values()]) if (!q.written && !q.intf) this.#write(q);
      }
      return;
    }
    if (r.kind === 'ok') {
      this.#log.info('extauth.ok', { seq: formatSeq(r.seq), command: p.command.verb });
      this.#settle(p, { status: 'ok', detail: r.text });
    } else {
      this.#log.info('extauth.error', { seq: formatSeq(r.seq), command: p.command.verb, message: preview(r.message) });
      this.#settle(p, { status: 'error', message: r.message, origin: 'program' });
    }
  }

  #finish(proc: Proc, how: { code: number | null; signal: NodeJS.Signals | null; error?: string }): void {
    if (proc.finished) return;
    proc.finished = true;
    proc.exited = true;
    if (proc.drainTimer) clearTimeout(proc.drainTimer);
    if (proc.killTimer) clearTimeout(proc.killTimer);
    if (this.#proc !== proc) return;
    const lived = Date.now() - proc.startedAt;
    const inFlight = this.#pending.size;
    for (const p of [...this.#pending.values()]) this.#settle(p, { status: 'unavailable', reason: 'program-exited' });
    if (this.#state === 'stopping') {
      this.#state = 'stopped';
      this.#log.info('extauth.stopped', { pid: proc.pid, code: how.code, signal: how.signal });
      const waiters = this.#stopWaiters;
      this.#stopWaiters = [];
      for (const w of waiters) w();
      return;
    }
    const delay = this.#nextDelay(lived);
    this.#log.failure('extauth.exited', { pid: proc.pid, code: how.code, signal: how.signal, error: how.error, livedMs: lived, inFlight, restartInMs: delay });
    this.#state = 'restarting';
    this.#scheduleRestart(delay);
  }

  /** Exponential back-off: initial, 2x, 4x... up to the bound; a long healthy run resets it. */
  #nextDelay(livedMs: number): number {
    if (livedMs >= this.#opts.stableRunMs) this.#failures = 0;
    const delay = Math.min(this.#opts.restartMaxMs, this.#opts.restartInitialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return delay;
  }

  #scheduleRestart(delay: number): void {
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state === 'restarting') this.#spawn();
    }, delay);
  }

  #killGroup(proc: Proc): void {
    if (proc.pid === undefined) return;
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // The group may be gone already, or the program may have left it: kill the program itself.
      try { proc.child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
}
