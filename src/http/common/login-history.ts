/**
 * The last logins of each account (W2), fed by the web login pages, shown to the user after login.
 * A small ring per account, kept in memory: it is per process for now (a restart empties it, and
 * nodes behind a load balancer each keep their own) until the shared store of S2 carries it.
 */

/** Logins kept per account: enough to spot a stranger's attempts, small enough to read at a glance. */
export const LOGIN_HISTORY_PER_ACCOUNT = 20;

/** Accounts tracked at most: only logins that named an existing account are recorded, but a
 *  large site must still not grow this without bound; the account seen least recently goes first. */
export const LOGIN_HISTORY_MAX_ACCOUNTS = 50_000;

export interface LoginRecord {
  at: number;
  /** The client address (after any PROXY header). */
  client: string;
  /** WebUser, WebAdmin... */
  via: string;
  ok: boolean;
  /** For a success: which password let the user in (own, os, external); for a failure: why. */
  detail: string;
}

export class LoginHistory {
  private readonly rings = new Map<string, LoginRecord[]>();

  constructor(private readonly perAccount = LOGIN_HISTORY_PER_ACCOUNT, private readonly maxAccounts = LOGIN_HISTORY_MAX_ACCOUNTS) {}

  record(domain: string, account: string, r: LoginRecord): void {
    const key = `${account}@${domain}`;
    const ring = this.rings.get(key) ?? [];
    this.rings.delete(key);
    ring.push(r);
    if (ring.length > this.perAccount) ring.splice(0, ring.length - this.perAccount);
    this.rings.set(key, ring);
    while (this.rings.size > this.maxAccounts) {
      const oldest = this.rings.keys().next();
      if (oldest.done) break;
      this.rings.delete(oldest.value);
    }
  }

  /** Newest first. */
  list(domain: string, account: string): LoginRecord[] {
    return [...(this.rings.get(`${account}@${domain}`) ?? [])].reverse();
  }
}
