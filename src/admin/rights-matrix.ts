/**
 * The R5 rights matrix: every right (and no right) × every administrative operation, and whether
 * the operation is allowed. One table, driven through every interface (the service itself, the web
 * pages, the JSON API, the CLI/PWD), so that "enforced everywhere" is shown, not assumed.
 *
 * The fixture (makeMatrixFixture in rights-matrix.fixture.ts) has the main domain example.com and a
 * second domain corp.test. The actors are accounts holding exactly one right: `none`
 * (plain@example.com), `Master` (master@example.com), `UserAccounts` (ua@example.com),
 * `ServerSettings` (ss@example.com), `Monitor` (mon@example.com), and `DomainAdmin`
 * (dadmin@corp.test, so its own domain is corp.test). corp.test has the account user@corp.test;
 * example.com has target@example.com.
 *
 * `args(tag)` gives the AdminService arguments; `tag` is unique per cell so that cells that create
 * things never collide.
 */
import type { AdminService } from './service.js';

export const MATRIX_ACTORS = ['none', 'Master', 'UserAccounts', 'ServerSettings', 'Monitor', 'DomainAdmin'] as const;
export type MatrixActor = (typeof MATRIX_ACTORS)[number];

/** The login of each actor in the fixture. */
export const ACTOR_LOGINS: Record<MatrixActor, string> = {
  none: 'plain@example.com',
  Master: 'master@example.com',
  UserAccounts: 'ua@example.com',
  ServerSettings: 'ss@example.com',
  Monitor: 'mon@example.com',
  DomainAdmin: 'dadmin@corp.test',
};

type Method = {
  [K in keyof AdminService]: AdminService[K] extends (actor: never, ...rest: infer _A) => Promise<unknown> ? K : never
}[keyof AdminService];

export interface MatrixCell {
  /** A name for reports: "create an account in corp.test". */
  op: string;
  method: Method;
  /** Arguments after the actor. */
  args: (tag: string) => unknown[];
  allowed: readonly MatrixActor[];
}

const ALL_ADMINS: MatrixActor[] = ['Master', 'UserAccounts', 'ServerSettings', 'Monitor'];
const ACCOUNTS_WIDE: MatrixActor[] = ['Master', 'UserAccounts'];
const CORP_ADMINS: MatrixActor[] = ['Master', 'UserAccounts', 'DomainAdmin'];
const CORP_READERS: MatrixActor[] = ['Master', 'UserAccounts', 'ServerSettings', 'Monitor', 'DomainAdmin'];

export const RIGHTS_MATRIX: readonly MatrixCell[] = [
  // server-wide settings
  { op: 'read server settings', method: 'getServerSettings', args: () => [], allowed: ['Master', 'ServerSettings', 'Monitor'] },
  { op: 'change server settings', method: 'updateServerSettings', args: () => [{ LoginFailureLimit: '12' }], allowed: ['Master', 'ServerSettings'] },
  { op: 'read server account defaults', method: 'getServerAccountDefaults', args: () => [], allowed: ['Master', 'UserAccounts', 'Monitor'] },
  { op: 'change server account defaults', method: 'updateServerAccountDefaults', args: () => [{ RequireSecureMethod: 'NO' }], allowed: ACCOUNTS_WIDE },
  // domains
  { op: 'list domains', method: 'listDomains', args: () => [], allowed: [...ALL_ADMINS, 'DomainAdmin'] },
  { op: 'create a domain', method: 'createDomain', args: (t) => [`new-${t}.test`], allowed: ACCOUNTS_WIDE },
  { op: 'rename a domain', method: 'renameDomain', args: (t) => [`ren-${t}.test`, `renamed-${t}.test`], allowed: ACCOUNTS_WIDE },
  { op: 'delete a domain', method: 'deleteDomain', args: (t) => [`del-${t}.test`], allowed: ACCOUNTS_WIDE },
  { op: 'read corp.test settings', method: 'getDomainSettings', args: () => ['corp.test'], allowed: CORP_READERS },
  { op: 'read example.com settings', method: 'getDomainSettings', args: () => ['example.com'], allowed: ALL_ADMINS },
  { op: 'change corp.test settings', method: 'updateDomainSettings', args: () => ['corp.test', { CertificateMode: 'Test' }], allowed: CORP_ADMINS },
  { op: 'change corp.test local addresses', method: 'updateDomainSettings', args: () => ['corp.test', { LocalIPAddresses: ['127.0.0.9'] }], allowed: ACCOUNTS_WIDE },
  { op: 'change example.com settings', method: 'updateDomainSettings', args: () => ['example.com', { CertificateMode: 'Test' }], allowed: ACCOUNTS_WIDE },
  { op: 'set corp.test aliases', method: 'setDomainAliases', args: (t) => ['corp.test', [`alias-${t}.test`]], allowed: ACCOUNTS_WIDE },
  { op: 'change corp.test account defaults', method: 'updateAccountDefaults', args: () => ['corp.test', { RequireSecureMethod: 'NO' }], allowed: CORP_ADMINS },
  // accounts
  { op: 'list corp.test accounts', method: 'listAccounts', args: () => ['corp.test'], allowed: CORP_READERS },
  { op: 'list example.com accounts', method: 'listAccounts', args: () => ['example.com'], allowed: ALL_ADMINS },
  { op: 'create an account in corp.test', method: 'createAccount', args: (t) => [`new-${t}@corp.test`], allowed: CORP_ADMINS },
  { op: 'create an account in example.com', method: 'createAccount', args: (t) => [`new-${t}@example.com`], allowed: ACCOUNTS_WIDE },
  { op: 'read user@corp.test settings', method: 'getAccountSettings', args: () => ['user@corp.test'], allowed: CORP_READERS },
  { op: 'change user@corp.test settings', method: 'updateAccountSettings', args: () => ['user@corp.test', { RealName: 'User' }], allowed: CORP_ADMINS },
  { op: 'change target@example.com settings', method: 'updateAccountSettings', args: () => ['target@example.com', { RealName: 'T' }], allowed: ACCOUNTS_WIDE },
  { op: 'set user@corp.test password', method: 'setAccountPassword', args: () => ['user@corp.test', 'a-new-password-1'], allowed: CORP_ADMINS },
  { op: 'set target@example.com password', method: 'setAccountPassword', args: () => ['target@example.com', 'a-new-password-2'], allowed: ACCOUNTS_WIDE },
  { op: 'rename an account in corp.test', method: 'renameAccount', args: (t) => [`ren-${t}@corp.test`, `renamed-${t}`], allowed: CORP_ADMINS },
  { op: 'delete an account in corp.test', method: 'deleteAccount', args: (t) => [`del-${t}@corp.test`], allowed: CORP_ADMINS },
  // lock-out state (H2): read like the account, unlocked by who may change it
  { op: 'read user@corp.test lock-out', method: 'getAccountLockout', args: () => ['user@corp.test'], allowed: CORP_READERS },
  { op: 'unlock user@corp.test', method: 'unlockAccount', args: () => ['user@corp.test'], allowed: CORP_ADMINS },
  { op: 'unlock target@example.com', method: 'unlockAccount', args: () => ['target@example.com'], allowed: ACCOUNTS_WIDE },
  // rights (R3: only Master)
  { op: 'read user@corp.test rights', method: 'getAccountRights', args: () => ['user@corp.test'], allowed: CORP_READERS },
  { op: 'grant DomainAdmin to user@corp.test', method: 'setAccountRights', args: () => ['user@corp.test', ['DomainAdmin']], allowed: ['Master'] },
  { op: 'grant Monitor to target@example.com', method: 'setAccountRights', args: () => ['target@example.com', ['Monitor']], allowed: ['Master'] },
];

/** Objects each cell's `tag` needs before it runs (domains and accounts to rename or delete). */
export function cellPreconditions(cell: MatrixCell, tag: string): { domains: string[]; accounts: string[] } {
  const a = cell.args(tag);
  switch (cell.method) {
    case 'renameDomain': case 'deleteDomain': return { domains: [String(a[0])], accounts: [] };
    case 'renameAccount': case 'deleteAccount': return { domains: [], accounts: [String(a[0])] };
    default: return { domains: [], accounts: [] };
  }
}
