/**
 * OS passwords through PAM (P6). Each check runs the small C helper `mailward-pam` (built from
 * mailward-pam.c by scripts/build-pam-helper.sh) as a separate process: PAM modules are
 * synchronous, may sleep (pam_unix waits ~2 s after a failure unless `nodelay`), may hang on a
 * network directory, and cannot be interrupted safely inside our process. In a child process they
 * never touch the event loop, and a time-out kills them.
 *
 * The password travels on the helper's stdin (never argv, which `ps` shows to every user), the
 * helper runs with a minimal environment (Mailward's own, which may hold secrets, is not handed
 * to PAM modules such as pam_exec), and at most OS_AUTH_MAX_CONCURRENT helpers run at once: a
 * flood of logins queues (within the same time-out) instead of forking without bound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { logger as makeLogger, Secret, type Logger } from '../../../core/log.js';
import { MailwardError } from '../../../core/errors.js';
import { checkOsUserName } from './names.js';

/** The PAM service Mailward asks for. The admin creates /etc/pam.d/mailward; when it is absent,
 *  Linux-PAM itself falls back to /etc/pam.d/other (on Debian: the common-* system stack). */
export const OS_AUTH_DEFAULT_SERVICE = 'mailward';

/** Whole time for one check, queueing included. Above pam_unix's 2 s failure delay (with its
 *  random spread), short enough that a hung directory does not stall a mail client's login. */
export const OS_AUTH_TIMEOUT_MS = 10_000;

/** Helpers running at once: PAM checks are rare and short; this bounds the processes a flood of
 *  logins can make us start. */
export const OS_AUTH_MAX_CONCURRENT = 8;

/** Checks waiting for a helper slot; beyond it a check is refused at once (`overloaded`) rather
 *  than queued for a time-out it cannot meet. */
export const OS_AUTH_MAX_QUEUE = 256;

/** PAM_MAX_RESP_SIZE is 512 with the NUL: no PAM module reads a longer password. */
export const OS_AUTH_MAX_PASSWORD = 511;

/** Most stderr we keep from the helper: it writes one short line. */
const MAX_STDERR = 1024;

/** Where the build script puts the helper: dist/native/, four levels above this compiled file. */
export const OS_AUTH_DEFAULT_HELPER = fileURLToPath(new URL('../../../../native/mailward-pam', import.meta.url));

/** Environment of the helper: enough for PAM modules that run commands, nothing of ours. */
const HELPER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };

const SERVICE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export type OsAuthOutcome =
  | { status: 'ok' }
  /** Wrong password; `account-refused`: the password was right but PAM's account check refused
   *  (expired, locked, must change password); `unusable-password`: empty, with NUL, or longer
   *  than PAM accepts, so it was not even tried. */
  | { status: 'bad'; detail?: 'account-refused' | 'unusable-password' }
  /** PAM said the user does not exist (only when the stack lets the module say so; Debian's
   *  common-auth turns it into a plain failure) or the composed name cannot be an OS user. */
  | { status: 'unknown-user' }
  | { status: 'unavailable'; reason: string }
  | { status: 'timeout' };

export interface OsAuthOptions {
  /** PAM service name (a setting); default OS_AUTH_DEFAULT_SERVICE. */
  service?: string;
  /** Path of mailward-pam; default $MAILWARD_PAM_HELPER, else OS_AUTH_DEFAULT_HELPER. */
  helperPath?: string;
  timeoutMs?: number;
  maxConcurrent?: number;
  maxQueue?: number;
  logger?: Logger;
}

export interface OsCheckRequest {
  /** The OS user name, already composed from the OS User Name pattern (see osUserName). */
  osUser: string;
  password: Secret<string | Buffer> | string | Buffer;
  /** The client's address, given to PAM as PAM_RHOST (pam_access and logs can use it). */
  remoteAddress?: string;
}

/** Exit statuses of mailward-pam (see mailward-pam.c). */
const EXIT = { ok: 0, bad: 1, unknown: 2, account: 3, pam: 4, usage: 64 } as const;

export class OsPasswordChecker {
  readonly service: string;
  readonly helperPath: string;
  readonly #timeoutMs: number;
  readonly #maxConcurrent: number;
  readonly #maxQueue: number;
  readonly #log: Logger;
  #running = 0;
  readonly #queue: (() => void)[] = [];
  #serviceChecked = false;

  constructor(opts: OsAuthOptions = {}) {
    this.service = opts.service ?? OS_AUTH_DEFAULT_SERVICE;
    // The service names a file in /etc/pam.d: a path separator or dot-dot could point PAM elsewhere.
    if (!SERVICE.test(this.service)) throw new MailwardError('settings.invalid', `PAM service name "${this.service}" is not a plain file name`);
    this.helperPath = opts.helperPath ?? process.env.MAILWARD_PAM_HELPER ?? OS_AUTH_DEFAULT_HELPER;
    this.#timeoutMs = opts.timeoutMs ?? OS_AUTH_TIMEOUT_MS;
    this.#maxConcurrent = opts.maxConcurrent ?? OS_AUTH_MAX_CONCURRENT;
    this.#maxQueue = opts.maxQueue ?? OS_AUTH_MAX_QUEUE;
    this.#log = (opts.logger ?? makeLogger('OSAUTH')).child({ service: this.service });
  }

  /** Checks one OS password. Always resolves to an outcome; never throws. */
  async check(req: OsCheckRequest): Promise<OsAuthOutcome> {
    const started = Date.now();
    const badName = checkOsUserName(req.osUser);
    if (badName !== null) {
      this.#log.info('osauth.unknown-user', { osUser: req.osUser.slice(0, 64), why: badName });
      return { status: 'unknown-user' };
    }
    const raw = req.password instanceof Secret ? req.password.reveal() : req.password;
    const password = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    // An empty password could match an account without one (pam_unix nullok) and must never let
    // anyone in (P4); a NUL would be cut off by C string handling ("secret\0x" passing as "secret").
    if (password.length === 0 || password.length > OS_AUTH_MAX_PASSWORD || password.includes(0)) {
      this.#log.info('osauth.bad', { osUser: req.osUser, detail: 'unusable-password' });
      return { status: 'bad', detail: 'unusable-password' };
    }
    const rhost = req.remoteAddress !== undefined && /^[\x21-\x7e]{1,255}$/.test(req.remoteAddress) ? req.remoteAddress : '';
    if (!this.#serviceChecked) {
      this.#serviceChecked = true;
      void this.#checkServiceFile(); // only a warning: the check itself does not wait for it
    }

    if (this.#running >= this.#maxConcurrent) {
      if (this.#queue.length >= this.#maxQueue) {
        this.#log.problem('osauth.overloaded', { running: this.#running, queued: this.#queue.length });
        return { status: 'unavailable', reason: 'overloaded' };
      }
      const left = this.#timeoutMs - (Date.now() - started);
      const gotSlot = await new Promise<boolean>((resolve) => {
        const go = (): void => { clearTimeout(timer); resolve(true); };
        const timer = setTimeout(() => {
          const i = this.#queue.indexOf(go);
          if (i !== -1) this.#queue.splice(i, 1);
          resolve(false);
        }, left);
        this.#queue.push(go);
      });
      if (!gotSlot) {
        this.#log.problem('osauth.timeout', { osUser: req.osUser, where: 'queue', timeoutMs: this.#timeoutMs });
        return { status: 'timeout' };
      }
    } else {
      this.#running++;
    }
    const input = Buffer.concat([
      Buffer.from(`${this.service}\0${req.osUser}\0`, 'utf8'), password, Buffer.from(`\0${rhost}\0`, 'utf8'),
    ]);
    const outcome = await this.#runHelper(input, req.osUser, this.#timeoutMs - (Date.now() - started));
    return outcome;
  }

  /** Frees a helper slot: hands it to the next queued check, or counts it free. */
  #release(): void {
    const next = this.#queue.shift();
    if (next) next();
    else this.#running--;
  }

  async #checkServiceFile(): Promise<void> {
    try {
      await access(`/etc/pam.d/${this.service}`);
    } catch {
      this.#log.major('osauth.service-missing', { file: `/etc/pam.d/${this.service}`, note: 'PAM uses /etc/pam.d/other for this service' });
    }
  }

  #runHelper(input: Buffer, osUser: string, timeoutMs: number): Promise<OsAuthOutcome> {
    return new Promise<OsAuthOutcome>((resolve) => {
      let settled = false;
      let released = false;
      const release = (): void => { if (!released) { released = true; this.#release(); } };
      const done = (o: OsAuthOutcome, fields: Record<string, unknown> = {}): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        input.fill(0);
        const event = `osauth.${o.status}`;
        const rec = { osUser, pid: child.pid, ...('detail' in o ? { detail: o.detail } : {}), ...('reason' in o ? { reason: o.reason } : {}), ...fields };
        if (o.status === 'unavailable' || o.status === 'timeout') this.#log.problem(event, rec);
        else this.#log.info(event, rec);
        resolve(o);
      };
      let child: ChildProcess;
      try {
        child = spawn(this.helperPath, [], { stdio: ['pipe', 'ignore', 'pipe'], env: HELPER_ENV, detached: true });
      } catch (e) {
        // Only for arguments spawn cannot take (a NUL in the path): a configuration error.
        release();
        input.fill(0);
        this.#log.problem('osauth.unavailable', { osUser, helper: this.helperPath, error: e });
        resolve({ status: 'unavailable', reason: 'helper cannot run: bad path' });
        return;
      }
      const timer = setTimeout(() => {
        // Kill its process group, so anything a module started in it goes too. (A module child in
        // its own session, as pam_exec makes, is beyond our reach and ends on its own.)
        try { if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
        done({ status: 'timeout' }, { timeoutMs: this.#timeoutMs });
      }, Math.max(0, timeoutMs));
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => { if (stderr.length < MAX_STDERR) stderr += c.toString('utf8').slice(0, MAX_STDERR - stderr.length); });
      child.stderr?.on('error', () => undefined);
      child.stdin?.on('error', () => undefined); // EPIPE if it died first: its exit status tells why
      child.on('error', (e: NodeJS.ErrnoException) => {
        release();
        done({ status: 'unavailable', reason: `helper cannot run: ${e.code ?? e.message}` }, { helper: this.helperPath });
      });
      child.on('exit', (code, signal) => {
        release();
        const why = stderr.trim().split('\n')[0] ?? '';
        switch (code) {
          case EXIT.ok: return done({ status: 'ok' });
          case EXIT.bad: return done({ status: 'bad' });
          case EXIT.unknown: return done({ status: 'unknown-user' });
          case EXIT.account: return done({ status: 'bad', detail: 'account-refused' }, { why });
          case EXIT.pam: return done({ status: 'unavailable', reason: why || 'PAM error' });
          case EXIT.usage: return done({ status: 'unavailable', reason: 'helper refused its input' });
          default: return done({ status: 'unavailable', reason: signal ? `helper killed by ${signal}` : `helper exit status ${String(code)}` });
        }
      });
      child.stdin?.end(input);
    });
  }
}
