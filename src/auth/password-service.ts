/**
 * Setting and checking an account's own password, as its Password Encryption says (P3): one-way
 * stores argon2id plus SCRAM-SHA-256 keys; clear keeps the password reversible. Used by the admin
 * service (SetAccountPassword, VerifyAccountPassword), by `mailward init`, by the engine for the
 * legacy-hash upgrade, and by users changing their own password (P5).
 */
import { MailwardError } from '../core/errors.js';
import type { Directory } from '../directory/directory.js';
import * as passwords from '../passwords/index.js';
import type { AccountSettings } from '../settings/schema.js';
import type { PasswordPort } from '../admin/service.js';
import type { AuthOutcome } from '../sasl/mechanism.js';

/** Shortest own password accepted when set: a minimum keeps "a" and "1234" out; admins who need
 *  other rules put them in front (the API) — this is a floor, not a policy engine. */
export const PASSWORD_MIN_LENGTH = 8;

export class PasswordService implements PasswordPort {
  constructor(private readonly directory: Directory) {}

  async setPassword(domain: string, account: string, password: string, settings?: AccountSettings): Promise<void> {
    if (password.length < PASSWORD_MIN_LENGTH) {
      throw new MailwardError('settings.invalid', `a password must have at least ${PASSWORD_MIN_LENGTH} characters`);
    }
    const s = settings ?? (await this.directory.effectiveAccountSettings(domain, account)).values;
    await this.store(domain, account, Buffer.from(password, 'utf8'), s);
  }

  /** Stores without the length floor: the legacy-hash upgrade re-stores a password that already
   *  verified, whatever its length. */
  async store(domain: string, account: string, password: Buffer, s: AccountSettings): Promise<void> {
    const server = (await this.directory.serverSettings()).values;
    const h = await passwords.hashNewPassword(password, {
      encryption: s.PasswordEncryption === 'clear' ? 'clear' : 'one-way',
      scramIterations: server.ScramIterations,
      // SCRAM-SHA-256 as P3 asks, and SCRAM-SHA-1 beside it: both are advertised (A2), and a
      // client that only speaks SCRAM-SHA-1 should work for a one-way account too.
      scramAlgorithms: ['SHA-256', 'SHA-1'],
    });
    if (!h.ok) {
      throw new MailwardError('settings.invalid', h.reason === 'empty' ? 'an empty password never logs in (P4): remove the password instead'
        : h.reason === 'too-long' ? 'the password is too long' : 'the password is not valid UTF-8 text');
    }
    await this.directory.update({ kind: 'account', domain, account }, {
      Password: h.password,
      ScramKeys: h.scram && Object.keys(h.scram).length ? Object.values(h.scram) : null,
    });
  }

  async verifyPassword(domain: string, account: string, password: string): Promise<boolean> {
    const s = (await this.directory.effectiveAccountSettings(domain, account)).values;
    if (s.Password === '') return false; // P4
    const r = await passwords.verify(Buffer.from(password, 'utf8'), s.Password, {
      encryption: s.PasswordEncryption === 'clear' ? 'clear' : 'one-way',
    });
    return r.ok;
  }

  /**
   * P5: a user who has just logged in may set the own password, whatever source let them in: after
   * an OS or External login this is how a site migrates users whose old passwords it never had.
   */
  async changeOwnPassword(login: Extract<AuthOutcome, { status: 'ok' }>, newPassword: string): Promise<void> {
    await this.setPassword(login.domain, login.account, newPassword);
  }
}
