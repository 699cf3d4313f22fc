/**
 * The authentication engine: one `authenticate(request)` for every login of every protocol and
 * interface. The result is a closed set of values (see AuthOutcome in src/sasl/mechanism.ts).
 *
 * Order of checks (issue 3):
 *   1. resolve the name (name@domain, aliases; a bare name by the local address, else the main
 *      domain);
 *   2. client addresses (N1, N2);
 *   3. lock-out (H2);
 *   4. Secure Method Required (A7): a clear-text method over a link that is not TLS is refused;
 *   5. own password, OS password, external program, each only when enabled (P1, P2; P4);
 *   6. for an unknown name in a domain that consults the External Authenticator, NEW, then
 *      look the name up again (E3).
 * Hide Unknown (H1) folds "unknown" into "bad credentials", and an unknown name costs a dummy
 * hash verification so that both take the same time.
 */
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { logger, Secret } from '../core/log.js';
import { AddressList, isLoopback } from '../access/addresses.js';
import type { Directory } from '../directory/directory.js';
import type { Right } from '../directory/rights.js';
import * as passwords from '../passwords/index.js';
import type {
  AuthOutcome, Credential, CredentialPort, CredentialValue, ScramAlgorithm,
} from '../sasl/mechanism.js';
import type { LockoutCounters, LockoutState } from './lockout.js';
import type { PasswordService } from './password-service.js';
import type { ExternalAuthenticator } from './sources/external/index.js';
import { osUserName } from './sources/os/index.js';
import type { AccountSettings, ServerSettings } from '../settings/schema.js';

const log = logger('AUTH');

/** How many real verification times are kept: enough to follow the load of the last minutes,
 *  small enough to adapt when the password scheme or the machine's load changes. */
const VERIFY_SAMPLES_MAX = 128;
/** Until this many are known, a locked account pays for a real dummy verification (a cold server
 *  has nothing to imitate yet). */
const VERIFY_SAMPLES_MIN = 16;

/** Outcomes a password guess can produce: the ones the failure delay applies to. */
const GUESS_FAILURES: ReadonlySet<AuthOutcome['status']> = new Set(['bad-credentials', 'unknown', 'locked', 'disabled']);

/** Where a login comes from: the "mode" of CommuniGate Pro's helper protocol. */
export type AuthMode = 'IMAP' | 'POP' | 'SMTP' | 'HTTP' | 'CLI' | 'PWD';

export interface ConnectionFacts {
  mode: AuthMode;
  /** The client's address (after any PROXY header, N4). */
  client: string;
  /** The local address the client connected to (bare-name resolution, T8). */
  local?: string;
  /** The link is TLS. */
  secure: boolean;
}

export interface AuthRequest extends ConnectionFacts {
  login: string;
  authzid?: string;
  /** PLAIN, LOGIN, CRAM-MD5, ..., or LOGIN-COMMAND / USER-PASS / HTTP-FORM / HTTP-BASIC for the
   *  regular logins (A5); logged and sent to the external program. */
  method: string;
  /** The password crossed the link in clear (A7). */
  clearText: boolean;
  credential: Credential;
}

/** OS passwords (P6): checked in a separate process through PAM (sources/os). */
export interface OsPasswords {
  check(osUser: string, password: Buffer, service: string): Promise<'ok' | 'bad' | 'unavailable'>;
}

export interface EngineDeps {
  directory: Directory;
  lockout: LockoutCounters;
  passwords: PasswordService;
  os?: OsPasswords;
  /** The running External Authentication program, when enabled. */
  external?: () => ExternalAuthenticator | null;
  now?: () => number;
}

type Ok = Extract<AuthOutcome, { status: 'ok' }>;
type Source = Ok['source'];

export class AuthEngine {
  private readonly now: () => number;
  /** Per-process key for stable fake SCRAM salts and for SCRAM salts of clear-text passwords. */
  private readonly saltKey = randomBytes(32);
  /** Recent durations (ms) of real own-password verifications, for H1's stand-in delay. */
  private readonly verifyTimes: number[] = [];
  private verifySlot = 0;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A CredentialPort bound to one connection, for the SASL mechanisms. */
  bind(facts: ConnectionFacts): CredentialPort {
    return {
      authenticate: (r) => this.authenticate({ ...facts, ...r }),
      scramParameters: (login, alg) => this.scramParameters(facts, login, alg),
    };
  }

  async authenticate(req: AuthRequest): Promise<AuthOutcome> {
    let server: ServerSettings;
    try {
      server = (await this.deps.directory.serverSettings()).values;
    } catch (e) {
      log.failure('auth.error', { error: e, mode: req.mode });
      return { status: 'temporary-failure', reason: 'settings unavailable' };
    }
    const outcome = await this.decide(req, server).catch((e: unknown) => {
      log.failure('auth.error', { error: e, mode: req.mode, login: req.login });
      return { status: 'temporary-failure', reason: 'internal error' } as AuthOutcome;
    });
    const shown = this.hide(outcome, server);
    // The record's fields are built only when it will be written (a success is an info record).
    if (outcome.status === 'locked' ? log.enabled('problem') : log.enabled('info')) {
      const fields = { mode: req.mode, method: req.method, login: req.login, remote: req.client, outcome: outcome.status };
      if (outcome.status === 'ok') log.info('auth.success', { ...fields, source: outcome.source });
      else if (outcome.status === 'locked') log.problem('auth.locked', fields);
      else log.info('auth.failed', fields);
    }
    // Every reply that can read as a wrong password waits the same delay, so it neither tells
    // them apart (H1) nor lets one connection guess faster than one try per delay; a timer, so
    // the waiting costs no CPU that real users need.
    if (GUESS_FAILURES.has(outcome.status) && server.LoginFailureDelay > 0) await delay(server.LoginFailureDelay * 1000);
    return shown;
  }

  /** H1: with Hide Unknown on, nothing in the reply tells whether the account exists: unknown,
   *  locked and disabled all read as bad credentials. */
  private hide(o: AuthOutcome, s: ServerSettings): AuthOutcome {
    if (!s.HideUnknownAccounts) return o;
    if (o.status === 'unknown' || o.status === 'locked' || o.status === 'disabled') return { status: 'bad-credentials' };
    return o;
  }

  private async decide(req: AuthRequest, server: ServerSettings): Promise<AuthOutcome> {
    const dir = this.deps.directory;
    let r = await dir.resolveLogin(req.login, req.local);
    // 2. N2 comes before anything that touches the account, so a non-client learns nothing.
    if (server.RejectNonClientLogins && !isLoopback(req.client) && !new AddressList(server.ClientIPAddresses).matches(req.client)) {
      return { status: 'not-client-address' };
    }
    if (r.kind === 'unknown-account') {
      // 6. E3: the program may create the account (through the CLI/API) and say OK.
      const consult = (await dir.domainSettings(r.domain)).values.ConsultExternalAuth;
      const ext = this.deps.external?.() ?? null;
      if (consult && ext) {
        const o = await ext.newName({ name: r.account, domain: r.domain });
        if (o.status === 'ok') {
          // The program may have created the account by any means: read the store again.
          dir.forgetAccounts(r.domain);
          r = await dir.resolveLogin(`${r.account}@${r.domain}`);
        }
      }
    }
    if (r.kind !== 'account') {
      // H1: a real dummy verification, so an invented name costs what a wrong password costs.
      if (req.credential.type === 'password') await passwords.dummyVerify(req.credential.password);
      return { status: 'unknown' };
    }
    const { domain, account } = r;
    const key = `${account}@${domain}`;
    const periodMs = server.LoginFailurePeriod * 1000;
    // 3. H2
    const st = await this.deps.lockout.state(key, this.now(), periodMs);
    if (st.lockedUntil !== null) {
      await this.lockedDelay(req);
      return { status: 'locked', until: st.lockedUntil };
    }
    const settings = (await dir.effectiveAccountSettings(domain, account)).values;
    // 4. A7
    if (settings.RequireSecureMethod && req.clearText && !req.secure) return { status: 'secure-method-required' };
    // 5. P1, P2
    const v = await this.verifySources(req, server, settings, domain, account);
    if (v.status === 'temporary-failure') return v;
    if (v.status !== 'ok') {
      const after: LockoutState = await this.deps.lockout.recordFailure(key, this.now(), server.LoginFailureLimit, periodMs);
      if (after.lockedUntil !== null) log.major('auth.lockout', { account: key, until: new Date(after.lockedUntil).toISOString() });
      return { status: 'bad-credentials' };
    }
    if (!modeAllowed(settings.AccessModes, req.mode)) return { status: 'disabled' };
    const ok: Ok = { status: 'ok', account, domain, source: v.source };
    if (req.authzid !== undefined && req.authzid !== '') {
      const z = await this.authorize(domain, account, req.authzid);
      if (!z) return { status: 'bad-credentials' };
      if (z.domain !== domain || z.account !== account) {
        const zs = (await dir.effectiveAccountSettings(z.domain, z.account)).values;
        if (!modeAllowed(zs.AccessModes, req.mode)) return { status: 'disabled' };
        return { ...ok, authzAccount: z.account, authzDomain: z.domain };
      }
    }
    return ok;
  }

  /**
   * The one rule for acting as someone else (authzid, A1): the authenticated account holds Master
   * or UserAccounts (server-wide administrators), or DomainAdmin and the target is in its own
   * domain. Nobody else may, whatever a mechanism says (the maddy authzid bypass).
   */
  async authorize(domain: string, account: string, authzid: string): Promise<{ domain: string; account: string } | null> {
    const z = await this.deps.directory.resolveLogin(authzid);
    if (z.kind !== 'account') return null;
    if (z.domain === domain && z.account === account) return z;
    const rights: Set<Right> = await this.deps.directory.effectiveRights(domain, account);
    if (rights.has('Master') || rights.has('UserAccounts')) return z;
    if (rights.has('DomainAdmin') && z.domain === domain) return z;
    log.problem('auth.authz.refused', { account: `${account}@${domain}`, authzid });
    return null;
  }

  private async verifySources(req: AuthRequest, server: ServerSettings, s: AccountSettings, domain: string, account: string):
    Promise<{ status: 'ok'; source: Source } | { status: 'bad' } | { status: 'temporary-failure'; reason: string }> {
    let temporary: string | null = null;
    const c = req.credential;
    if (s.UseAppPassword) {
      const own = await this.checkOwn(c, s, domain, account);
      if (own === 'ok') return { status: 'ok', source: 'own' };
      if (own === 'temporary') temporary = 'password verification busy';
    }
    if (s.UseSysPassword && c.type === 'password' && this.deps.os) {
      // OS passwords are one-way: only a clear password can be checked (never a challenge).
      const name = osUserName(s.OSUserName, account);
      if (name.ok) {
        const r = await this.deps.os.check(name.name, c.password, server.PAMService);
        if (r === 'ok') return { status: 'ok', source: 'os' };
        if (r === 'unavailable') temporary ??= 'OS password check unavailable';
      } else {
        log.problem('auth.os.badName', { account: `${account}@${domain}`, why: name.why });
      }
    }
    const ext = s.UseExtPassword ? this.deps.external?.() ?? null : null;
    if (ext) {
      const mode = req.mode;
      const o = c.type === 'password'
        ? await ext.verify({ name: account, domain, password: new Secret(c.password), mode })
        : c.external
          ? await ext.sasl({ name: account, domain, method: c.mechanism, password: new Secret(c.external.response), key: c.external.challenge, mode })
          : null;
      if (o?.status === 'ok') return { status: 'ok', source: 'external' };
      if (o?.status === 'unavailable') temporary ??= 'external authentication unavailable';
    }
    // A temporary problem with a source that might have said yes is not a wrong password: it must
    // not count towards lock-out, and the client should retry.
    return temporary ? { status: 'temporary-failure', reason: temporary } : { status: 'bad' };
  }

  private async checkOwn(c: Credential, s: AccountSettings, domain: string, account: string): Promise<'ok' | 'bad' | 'temporary'> {
    const stored = s.Password;
    if (c.type === 'password') {
      if (stored === '') return 'bad'; // P4
      const t0 = performance.now();
      const r = await passwords.verify(c.password, stored, { encryption: encryptionOf(s) });
      if (!r.problem) this.recordVerifyTime(performance.now() - t0);
      if (r.problem === 'busy' || r.problem === 'internal') return 'temporary';
      if (!r.ok) return 'bad';
      if (r.needsUpgrade) void this.upgrade(domain, account, c.password, s);
      return 'ok';
    }
    const secret = await this.secretFor(c.needs, s, account);
    if (!secret) return 'bad'; // A9: one-way stored, or absent: a clean refusal
    return (await c.verify(secret)) ? 'ok' : 'bad';
  }

  private async secretFor(needs: Extract<Credential, { type: 'challenge' }>['needs'], s: AccountSettings, account: string): Promise<CredentialValue | null> {
    // The same salt and iteration count as the fake parameters of unknown names, so a clear-text
    // account and a name that does not exist answer SCRAM's first step alike (H1).
    const iterations = (await this.deps.directory.serverSettings()).values.ScramIterations;
    const opts = { scramSalt: this.stableSalt(account), scramIterations: iterations };
    if (needs === 'scram-sha-1' || needs === 'scram-sha-256') {
      for (const k of s.ScramKeys) {
        const r = await passwords.derive(k, needs, opts);
        if (r.available) return r.value as CredentialValue;
      }
    }
    if (s.Password === '') return null;
    const r = await passwords.derive(s.Password, needs, opts);
    return r.available ? (r.value as CredentialValue) : null;
  }

  private stableSalt(account: string): Buffer {
    return createHmac('sha256', this.saltKey).update(account).digest().subarray(0, 16);
  }

  async scramParameters(facts: ConnectionFacts, login: string, algorithm: ScramAlgorithm): Promise<{ salt: Buffer; iterations: number }> {
    const fake = async () => ({ salt: this.stableSalt(login.toLowerCase()), iterations: (await this.deps.directory.serverSettings()).values.ScramIterations });
    try {
      const r = await this.deps.directory.resolveLogin(login, facts.local);
      if (r.kind !== 'account') return await fake();
      const s = (await this.deps.directory.effectiveAccountSettings(r.domain, r.account)).values;
      const v = await this.secretFor(algorithm === 'SHA-1' ? 'scram-sha-1' : 'scram-sha-256', s, r.account);
      if (v?.kind === 'scram') return { salt: v.salt, iterations: v.iterations };
      return await fake();
    } catch {
      return fake();
    }
  }

  /**
   * A locked account answers after a delay drawn from recently timed real verifications: it looks
   * like a wrong password (H1), but costs no hashing. Hashing for every guess at a locked account
   * would let a brute-force flood take the hashing threads from real users (H2 exists to stop that
   * flood). Until enough times are known, a real dummy verification stands in.
   */
  private async lockedDelay(req: AuthRequest): Promise<void> {
    if (req.credential.type !== 'password') return;
    const n = this.verifyTimes.length;
    if (n < VERIFY_SAMPLES_MIN) {
      await passwords.dummyVerify(req.credential.password);
      return;
    }
    const ms = this.verifyTimes[randomInt(n)] ?? 0;
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  private recordVerifyTime(ms: number): void {
    if (this.verifyTimes.length < VERIFY_SAMPLES_MAX) this.verifyTimes.push(ms);
    else this.verifyTimes[this.verifySlot++ % VERIFY_SAMPLES_MAX] = ms;
  }

  /** P3: a legacy hash that verified is replaced by the current form, at this login. */
  private async upgrade(domain: string, account: string, password: Buffer, s: AccountSettings): Promise<void> {
    try {
      await this.deps.passwords.store(domain, account, password, s);
      log.info('auth.password.upgraded', { account: `${account}@${domain}` });
    } catch (e) {
      log.problem('auth.password.upgradeFailed', { account: `${account}@${domain}`, error: e });
    }
  }

  // ---- admin views of lock-out (H2) ----------------------------------------------------------

  async lockoutState(domain: string, account: string): Promise<LockoutState> {
    const s = (await this.deps.directory.serverSettings()).values;
    return this.deps.lockout.state(`${account}@${domain}`, this.now(), s.LoginFailurePeriod * 1000);
  }

  async unlock(domain: string, account: string): Promise<void> {
    await this.deps.lockout.unlock(`${account}@${domain}`);
    log.major('auth.unlocked', { account: `${account}@${domain}` });
  }
}

function encryptionOf(s: AccountSettings): 'clear' | 'one-way' {
  return s.PasswordEncryption === 'clear' ? 'clear' : 'one-way';
}

function modeAllowed(modes: readonly string[], mode: AuthMode): boolean {
  if (modes.includes('None')) return false;
  if (modes.includes('All')) return true;
  return modes.includes(mode);
}
