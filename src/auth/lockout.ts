/**
 * Lock-out (H2): "Suspend Account after N failed logins within T". Every login method on every
 * protocol reports to the same counters; an account that reaches N failures within T is refused
 * for T from that moment, then re-enabled by itself. An admin can read the state and unlock.
 *
 * The counters sit behind an interface: this in-process one serves a single node; a Redis one
 * (S2) lets several nodes enforce one policy. Only existing accounts are counted, so a flood of
 * invented names cannot grow the table.
 */
export interface LockoutState {
  /** Failures still inside the window. */
  failures: number;
  /** Epoch ms until which the account is locked, or null. */
  lockedUntil: number | null;
}

export interface LockoutCounters {
  /** Records a failure and returns the state after it (locked when this one reached the limit). */
  recordFailure(key: string, now: number, limit: number, periodMs: number): Promise<LockoutState>;
  state(key: string, now: number, periodMs: number): Promise<LockoutState>;
  // A success does not clear the failures: a mail client polling every few minutes would otherwise
  // reset an attacker's count, turning "N per T" into "N per polling interval".
  unlock(key: string): Promise<void>;
}

/** Entries whose window and lock both ended are swept every this many failures, which bounds
 *  memory without a timer. */
const SWEEP_EVERY = 1024;

export class InProcessLockout implements LockoutCounters {
  private readonly entries = new Map<string, { failures: number[]; lockedUntil: number | null }>();
  private sinceSweep = 0;

  async recordFailure(key: string, now: number, limit: number, periodMs: number): Promise<LockoutState> {
    if (++this.sinceSweep >= SWEEP_EVERY) this.sweep(now, periodMs);
    let e = this.entries.get(key);
    if (!e) { e = { failures: [], lockedUntil: null }; this.entries.set(key, e); }
    if (e.lockedUntil !== null && e.lockedUntil <= now) e.lockedUntil = null;
    e.failures = e.failures.filter((t) => t > now - periodMs);
    e.failures.push(now);
    if (limit > 0 && e.failures.length >= limit && e.lockedUntil === null) {
      e.lockedUntil = now + periodMs;
      e.failures = [];
    }
    // Keep at most `limit` timestamps: older ones can never matter again.
    if (limit > 0 && e.failures.length > limit) e.failures.splice(0, e.failures.length - limit);
    return { failures: e.failures.length, lockedUntil: e.lockedUntil };
  }

  async state(key: string, now: number, periodMs: number): Promise<LockoutState> {
    const e = this.entries.get(key);
    if (!e) return { failures: 0, lockedUntil: null };
    return {
      failures: e.failures.filter((t) => t > now - periodMs).length,
      lockedUntil: e.lockedUntil !== null && e.lockedUntil > now ? e.lockedUntil : null,
    };
  }

  async unlock(key: string): Promise<void> {
    this.entries.delete(key);
  }

  /** The accounts locked at `now`, with their ends (the multi-core mode hands them to a new
   *  worker). Bounded: only existing accounts are ever counted. */
  locks(now: number): [string, number][] {
    const out: [string, number][] = [];
    for (const [k, e] of this.entries) if (e.lockedUntil !== null && e.lockedUntil > now) out.push([k, e.lockedUntil]);
    return out;
  }

  private sweep(now: number, periodMs: number): void {
    this.sinceSweep = 0;
    for (const [k, e] of this.entries) {
      if ((e.lockedUntil === null || e.lockedUntil <= now) && e.failures.every((t) => t <= now - periodMs)) this.entries.delete(k);
    }
  }
}
