/**
 * The settings store: where server, domain and account settings live. The embedded default is a
 * directory of readable text files (backends/files); a PostgreSQL backend passes the same
 * conformance suite (store.conformance.ts). Nothing above the directory service touches a store.
 *
 * Revisions are opaque strings used for optimistic concurrency: `put` with `expected` fails with
 * `store.conflict` unless the object's current revision is that string (`null` = must not exist).
 */
import type { CgDict } from './format/types.js';

export type ObjectRef =
  /** Server-wide settings: Settings/Main.settings */
  | { kind: 'server' }
  /** Server-wide Default Account Settings: Settings/AccountDefaults.settings */
  | { kind: 'serverAccountDefaults' }
  /** Domains/<domain>/Settings/Domain.settings */
  | { kind: 'domain'; domain: string }
  /** Domain-wide Default Account Settings: Domains/<domain>/Settings/AccountDefaults.settings */
  | { kind: 'domainAccountDefaults'; domain: string }
  /** Access rights of the domain's accounts (R4): Domains/<domain>/Settings/Access.settings */
  | { kind: 'access'; domain: string }
  /** Domains/<domain>/Accounts/<account>.macnt/account.settings */
  | { kind: 'account'; domain: string; account: string };

export interface Versioned {
  data: CgDict;
  revision: string;
}

export interface SettingsStore {
  /** A short name for logs and errors: 'files:/var/mailward', 'postgres'. */
  readonly description: string;

  /** The object, or null when it does not exist (a missing settings file of an existing domain
   *  reads as null; the caller decides the defaults). Corrupt data throws `store.corrupt`. */
  get(ref: ObjectRef): Promise<Versioned | null>;

  /** Write the whole object atomically. `expected`: undefined = unconditional; null = must not
   *  exist yet; a string = must be at that revision. Returns the new revision. The domain (and,
   *  for an account, the account) must exist. */
  put(ref: ObjectRef, data: CgDict, expected?: string | null): Promise<string>;

  /** Remove one settings object (not a domain or account: use the container operations). */
  remove(ref: ObjectRef): Promise<void>;

  listDomains(): Promise<string[]>;
  createDomain(domain: string): Promise<void>;
  renameDomain(from: string, to: string): Promise<void>;
  deleteDomain(domain: string): Promise<void>;

  listAccounts(domain: string): Promise<string[]>;
  createAccount(domain: string, account: string, settings: CgDict): Promise<void>;
  renameAccount(domain: string, from: string, to: string): Promise<void>;
  deleteAccount(domain: string, account: string): Promise<void>;

  close(): Promise<void>;
}
