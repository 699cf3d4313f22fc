/**
 * A CredentialPort for mechanism tests: a table of users with their secrets, and the same contract
 * the authentication engine keeps (one `authenticate` per exchange; fake but stable SCRAM
 * parameters for unknown names; a one-way-only account answers a clear-password lookup with
 * bad-credentials, never by throwing). Not used outside tests.
 */
import { createHash } from 'node:crypto';
import type { AuthOutcome, CredentialPort, CredentialValue, ScramAlgorithm } from '../mechanism.js';

export interface FakeUser {
  /** Clear password; absent for an account whose password is stored one-way only (A9). */
  password?: string;
  scram?: Partial<Record<ScramAlgorithm, { salt: Buffer; iterations: number; storedKey: Buffer; serverKey: Buffer }>>;
  ntHash?: Buffer;
  /** Accounts this user may act for (authzid), by login name. */
  mayActFor?: string[];
}

export interface FakePortCall { login: string; authzid?: string; method: string; clearText: boolean; outcome: AuthOutcome }

export class FakeCredentialPort implements CredentialPort {
  readonly calls: FakePortCall[] = [];
  constructor(readonly users: Record<string, FakeUser>, readonly domain = 'example.com') {}

  async authenticate(req: Parameters<CredentialPort['authenticate']>[0]): Promise<AuthOutcome> {
    const outcome = await this.decide(req);
    this.calls.push({ login: req.login, authzid: req.authzid, method: req.method, clearText: req.clearText, outcome });
    return outcome;
  }

  private async decide(req: Parameters<CredentialPort['authenticate']>[0]): Promise<AuthOutcome> {
    const name = req.login.toLowerCase().split('@')[0] ?? '';
    const user = this.users[name];
    if (!user) return { status: 'unknown' };
    const c = req.credential;
    let ok: boolean;
    if (c.type === 'password') {
      ok = user.password !== undefined && user.password !== '' && c.password.equals(Buffer.from(user.password, 'utf8'));
    } else {
      const secret = this.secretFor(user, c.needs);
      if (!secret) return { status: 'bad-credentials' };
      ok = await c.verify(secret);
    }
    if (!ok) return { status: 'bad-credentials' };
    if (req.authzid !== undefined && req.authzid !== '' && req.authzid.toLowerCase().split('@')[0] !== name) {
      const target = req.authzid.toLowerCase().split('@')[0] ?? '';
      if (!(user.mayActFor ?? []).includes(target)) return { status: 'bad-credentials' };
      return { status: 'ok', account: name, domain: this.domain, source: 'own', authzAccount: target, authzDomain: this.domain };
    }
    return { status: 'ok', account: name, domain: this.domain, source: 'own' };
  }

  private secretFor(user: FakeUser, needs: string): CredentialValue | null {
    if (needs === 'clear') return user.password ? { kind: 'clear', password: Buffer.from(user.password, 'utf8') } : null;
    if (needs === 'nt-hash') return user.ntHash ? { kind: 'nt-hash', hash: user.ntHash } : null;
    const alg: ScramAlgorithm = needs === 'scram-sha-1' ? 'SHA-1' : 'SHA-256';
    const k = user.scram?.[alg];
    return k ? { kind: 'scram', algorithm: alg, ...k } : null;
  }

  async scramParameters(login: string, algorithm: ScramAlgorithm): Promise<{ salt: Buffer; iterations: number }> {
    const name = login.toLowerCase().split('@')[0] ?? '';
    const k = this.users[name]?.scram?.[algorithm];
    if (k) return { salt: k.salt, iterations: k.iterations };
    // Stable per name, so asking twice does not reveal that the name is unknown.
    return { salt: createHash('sha256').update('fake-salt:' + name).digest().subarray(0, 16), iterations: 4096 };
  }
}
