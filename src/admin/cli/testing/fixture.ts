/**
 * A data directory for the CLI/API tests (W3, R5): a main domain with one account per right, a
 * second domain with its own administrator, the real directory, password service, lock-out
 * counters, authentication engine and AdminService. Test-only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../../../settings/backends/files/index.js';
import { dict, type CgDict } from '../../../settings/format/types.js';
import { Directory } from '../../../directory/directory.js';
import type { Right } from '../../../directory/rights.js';
import { PasswordService } from '../../../auth/password-service.js';
import { AuthEngine } from '../../../auth/engine.js';
import { InProcessLockout } from '../../../auth/lockout.js';
import { AdminService, type Actor } from '../../service.js';

export const MAIN = 'example.com';
export const OTHER = 'client.test';

/** Accounts of the fixture: login -> rights. Passwords are `pw-<name>-<domain>`. */
export const FIXTURE_ACCOUNTS: Readonly<Record<string, readonly Right[]>> = {
  [`postmaster@${MAIN}`]: ['Master'],
  [`master@${MAIN}`]: ['Master'],
  [`users@${MAIN}`]: ['UserAccounts'],
  [`settings@${MAIN}`]: ['ServerSettings'],
  [`monitor@${MAIN}`]: ['Monitor'],
  [`dadmin@${MAIN}`]: ['DomainAdmin'],
  [`plain@${MAIN}`]: [],
  [`dadmin@${OTHER}`]: ['DomainAdmin'],
  [`user@${OTHER}`]: [],
};

export const passwordOf = (login: string): string => `pw-${login.replace('@', '-')}`;

export interface AdminFixture {
  dir: string;
  directory: Directory;
  passwords: PasswordService;
  lockout: InProcessLockout;
  engine: AuthEngine;
  admin: AdminService;
  clock: { t: number };
  /** The Actor an interface builds for an authenticated account (brief of issue 7). */
  actorFor(login: string): Promise<Actor>;
  done(): Promise<void>;
}

export async function adminFixture(server: CgDict = dict()): Promise<AdminFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'mw-cli-'));
  const store = await openFileStore(join(dir, 'data'));
  await store.put({ kind: 'server' }, dict({
    MainDomainName: MAIN, HideUnknownAccounts: 'YES', LoginFailureLimit: '3', LoginFailurePeriod: '60s', LoginFailureDelay: '0s', ...server,
  }));
  const directory = new Directory(store);
  // Clear passwords: APOP and CRAM-MD5 need them (A9), and tests stay fast (no argon2id).
  await directory.replace({ kind: 'serverAccountDefaults' }, dict({ PasswordEncryption: 'clear' }));
  await directory.createDomain(MAIN);
  await directory.createDomain(OTHER);
  const passwords = new PasswordService(directory);
  for (const [login, rights] of Object.entries(FIXTURE_ACCOUNTS)) {
    const [name = '', domain = ''] = login.split('@');
    await directory.createAccount(domain, name);
    await passwords.setPassword(domain, name, passwordOf(login));
    if (rights.length && name !== 'postmaster') await directory.writeRights(domain, name, [...rights]);
  }
  const clock = { t: 1_700_000_000_000 };
  const lockout = new InProcessLockout();
  const engine = new AuthEngine({ directory, lockout, passwords, now: () => clock.t });
  const admin = new AdminService(directory, passwords, engine);
  return {
    dir, directory, passwords, lockout, engine, admin, clock,
    async actorFor(login) {
      const [account = '', domain = ''] = login.split('@');
      return { kind: 'account', domain, account, rights: await directory.effectiveRights(domain, account) };
    },
    async done() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
