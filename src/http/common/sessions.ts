/**
 * Web sessions (W1, W2): random ids kept only in memory, a CSRF token per session, idle and
 * absolute expiry, and a bounded table. A session id is minted at login and never taken from the
 * request (no fixation); logging out or expiring deletes it on the server, so a stolen cookie dies
 * with it. Sessions are per process: a restart logs everyone out, which is the safe default.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A session unused this long is gone: an unattended browser of an administrator must not stay
 *  logged in for the next person at the desk. 15 minutes, as common admin consoles do. */
export const SESSION_IDLE_MS = 15 * 60 * 1000;

/** However active, a session ends after this: bounds the life of a stolen cookie. */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;

/** Most sessions kept per store: each login makes one, so a flood of successful logins (a stolen
 *  password in a loop) must not grow memory without bound; the least recently used goes first. */
export const SESSIONS_MAX = 10_000;

/** 32 random bytes: 256 bits, far beyond guessing (OWASP asks for at least 64 bits of entropy). */
const ID_BYTES = 32;

export function randomToken(): string {
  return randomBytes(ID_BYTES).toString('base64url');
}

/** Constant-time comparison of two tokens (a CSRF token, a login token). */
export function sameToken(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface WebSession<T> {
  readonly id: string;
  /** Put in every form of the session and checked on every POST. */
  readonly csrf: string;
  readonly data: T;
  readonly created: number;
  lastSeen: number;
  /** One-shot message shown on the next page (after a POST-redirect-GET). */
  flash?: { kind: 'ok' | 'error'; text: string };
}

export interface SessionStoreOptions {
  idleMs?: number;
  maxAgeMs?: number;
  maxSessions?: number;
  now?: () => number;
}

export class SessionStore<T> {
  // A Map keeps insertion order; touching a session re-inserts it, so the first entry is the least
  // recently used one.
  private readonly sessions = new Map<string, WebSession<T>>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly maxSessions: number;
  private readonly now: () => number;

  constructor(opts: SessionStoreOptions = {}) {
    this.idleMs = opts.idleMs ?? SESSION_IDLE_MS;
    this.maxAgeMs = opts.maxAgeMs ?? SESSION_MAX_AGE_MS;
    this.maxSessions = opts.maxSessions ?? SESSIONS_MAX;
    this.now = opts.now ?? Date.now;
  }

  get size(): number { return this.sessions.size; }

  create(data: T): WebSession<T> {
    const t = this.now();
    const s: WebSession<T> = { id: randomToken(), csrf: randomToken(), data, created: t, lastSeen: t };
    while (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next();
      if (oldest.done) break;
      this.sessions.delete(oldest.value);
    }
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session for a cookie value, touched; null when unknown or expired (and then removed). */
  get(id: string | undefined): WebSession<T> | null {
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    const t = this.now();
    if (t - s.lastSeen > this.idleMs || t - s.created > this.maxAgeMs) {
      this.sessions.delete(id);
      return null;
    }
    s.lastSeen = t;
    this.sessions.delete(id);
    this.sessions.set(id, s);
    return s;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Ends every session for which `pred` holds (an account deleted or renamed, a password changed). */
  destroyWhere(pred: (data: T) => boolean): number {
    let n = 0;
    for (const [id, s] of this.sessions) if (pred(s.data)) { this.sessions.delete(id); n++; }
    return n;
  }
}
