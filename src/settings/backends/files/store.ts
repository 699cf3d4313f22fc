/**
 * The embedded settings store (SPEC S1, R4): a data directory of text files in the CommuniGate Pro
 * data format, readable and auditable by a human with `cat` and `grep`.
 *
 *   <data>/mailward.lock                                        pid of the process that writes here
 *   <data>/Settings/Main.settings                               server-wide settings       (server)
 *   <data>/Settings/AccountDefaults.settings                    server-wide account defaults
 *                                                                              (serverAccountDefaults)
 *   <data>/Domains/<domain>/Settings/Domain.settings            domain settings             (domain)
 *   <data>/Domains/<domain>/Settings/AccountDefaults.settings   domain's account defaults
 *                                                                              (domainAccountDefaults)
 *   <data>/Domains/<domain>/Settings/Access.settings            the domain's access rights (access, R4)
 *   <data>/Domains/<domain>/Accounts/<account>.macnt/account.settings          account settings (account)
 *
 * A domain is a directory under Domains/, an account a `.macnt` directory under its domain's
 * Accounts/. Names are checked by names.ts before they touch a path. Files are mode 0600 and
 * directories 0700: they hold password hashes and private keys.
 *
 * Writes: every settings file is replaced atomically (temporary file, fsync, rename, fsync of the
 * directory), so a crash leaves the old file or the new one, never a mix. A new account appears
 * with its settings file in one rename of a prepared directory; a deleted domain or account
 * disappears in one rename before its tree is removed. Temporary names start with a dot and end
 * in `.tmp`/`.deleted`; they are swept when a crashed process's lock is taken over.
 *
 * Revisions are derived from the file's bytes (a truncated SHA-256), so a hand edit changes the
 * revision too and no other state exists. Identical contents have identical revisions: a
 * compare-and-set compares contents, which is what a read-modify-write needs.
 *
 * A file that does not parse is reported as `store.corrupt` with `path:line:column`, and is never
 * replaced by defaults: only an explicit `put` overwrites it.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { MailwardError } from '../../../core/errors.js';
import { STORE_MAX_FILE } from '../../../core/limits.js';
import { logger } from '../../../core/log.js';
import { isFormatError, parseDictionary, serialize } from '../../format/index.js';
import { isDict, type CgDict } from '../../format/types.js';
import type { ObjectRef, SettingsStore, Versioned } from '../../store.js';
import {
  DIR_MODE, LEFTOVER_NAME, atomicReplace, errnoOf, firstInvalidUtf8, fsyncDir, ioError, positionOf,
  readBounded, tempName, writeNewFile,
} from './fsutil.js';
import { acquireDataDirLock, type DataDirLockRelease } from './lockfile.js';
import { withLocks, type LockRequest } from './mutex.js';
import { ACCOUNT_DIR_SUFFIX, assertObjectName, printableName, validateObjectName } from './names.js';

const log = logger('STORE');

export const SETTINGS_DIR = 'Settings';
export const DOMAINS_DIR = 'Domains';
export const ACCOUNTS_DIR = 'Accounts';
export const ACCOUNT_FILE = 'account.settings';

/** File names of the objects that live in a `Settings/` directory. */
const SETTINGS_FILE = {
  server: 'Main.settings',
  serverAccountDefaults: 'AccountDefaults.settings',
  domain: 'Domain.settings',
  domainAccountDefaults: 'AccountDefaults.settings',
  access: 'Access.settings',
} as const;

/** Length of a revision in hex digits: 96 bits make an accidental collision between two versions
 *  of one object impossible in practice; the revision is not a security token. */
const REVISION_HEX_DIGITS = 24;

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** The revision of a settings file's bytes. */
export function revisionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, REVISION_HEX_DIGITS);
}

export interface ObjectLocation {
  /** The directory that holds the file. */
  dir: string;
  /** The file's name in `dir`. */
  file: string;
  /** The directory that must exist for the object to be written: the data directory, the
   *  domain's or the account's directory. */
  container: string;
  domain?: string;
  account?: string;
}

/** Where an object lives under `root`. Validates the names in the ref (`name.invalid`). */
export function locate(root: string, ref: ObjectRef): ObjectLocation {
  switch (ref.kind) {
    case 'server':
    case 'serverAccountDefaults':
      return { dir: join(root, SETTINGS_DIR), file: SETTINGS_FILE[ref.kind], container: root };
    case 'domain':
    case 'domainAccountDefaults':
    case 'access': {
      assertObjectName('domain', ref.domain);
      const domainDir = join(root, DOMAINS_DIR, ref.domain);
      return { dir: join(domainDir, SETTINGS_DIR), file: SETTINGS_FILE[ref.kind], container: domainDir, domain: ref.domain };
    }
    case 'account': {
      assertObjectName('domain', ref.domain);
      assertObjectName('account', ref.account);
      const accountDir = join(root, DOMAINS_DIR, ref.domain, ACCOUNTS_DIR, ref.account + ACCOUNT_DIR_SUFFIX);
      return { dir: accountDir, file: ACCOUNT_FILE, container: accountDir, domain: ref.domain, account: ref.account };
    }
    default: {
      const never: never = ref;
      throw new MailwardError('internal', `unknown object kind ${printableName(String((never as { kind?: unknown }).kind))}`);
    }
  }
}

/** Parses a settings file's bytes; anything wrong is `store.corrupt` with `path:line:column`. */
export function parseSettingsFile(path: string, bytes: Uint8Array): CgDict {
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const { line, column } = positionOf(bytes, bad);
    throw new MailwardError('store.corrupt', `${path}:${line}:${column}: not valid UTF-8 text`);
  }
  // A byte-order mark, as some Windows editors write, is not part of the text (and the parser's
  // columns would be off by one if it were).
  const text = utf8.decode(bytes);
  try {
    return parseDictionary(text, { source: path });
  } catch (e) {
    if (isFormatError(e)) {
      throw new MailwardError('store.corrupt', `${path}:${e.line}:${e.column}: ${e.reason}`, { cause: e });
    }
    throw e;
  }
}

/** The bytes `put` writes: the pretty text form, ending with a newline as text files do. */
export function settingsFileBytes(data: CgDict): Buffer {
  if (!isDict(data)) throw new MailwardError('internal', 'settings must be a dictionary');
  const text = serialize(data, { pretty: true });
  const bytes = Buffer.from(text.endsWith('\n') ? text : text + '\n', 'utf8');
  // Refused before writing: the store could never read such a file back (readBounded).
  if (bytes.length > STORE_MAX_FILE) {
    throw new MailwardError('format.limit', `settings of ${bytes.length} bytes exceed the ${STORE_MAX_FILE} a settings file may have`);
  }
  return bytes;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError('stat', path, e);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw ioError('stat', path, e);
  }
}

/** mkdir of one level (never recursive: a missing parent means the domain is gone, and a
 *  recursive mkdir would bring a deleted or renamed domain back). True if it exists afterwards. */
async function mkdirOne(path: string): Promise<boolean> {
  try {
    await fs.mkdir(path, { mode: DIR_MODE });
    return true;
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'EEXIST') return isDirectory(path);
    if (code === 'ENOENT') return false;
    throw ioError('create directory', path, e);
  }
}

export interface FileStoreOptions {
  /** Take the data-directory lock (default true), released by close(). False is for readers of a
   *  directory another process writes (tests, audit tools): such a store can still write, and the
   *  caller then answers for keeping other writers out. */
  lock?: boolean;
}

export class FileSettingsStore implements SettingsStore {
  readonly description: string;
  readonly root: string;
  #release: DataDirLockRelease | null;
  #closed = false;
  readonly #inflight = new Set<Promise<unknown>>();

  private constructor(root: string, release: DataDirLockRelease | null) {
    this.root = root;
    this.description = `files:${root}`;
    this.#release = release;
  }

  /** Opens (creating when missing, mode 0700) the data directory `dataDir`. */
  static async open(dataDir: string, options: FileStoreOptions = {}): Promise<FileSettingsStore> {
    const root = resolve(dataDir);
    try {
      await fs.mkdir(root, { recursive: true, mode: DIR_MODE });
    } catch (e) {
      throw ioError('create directory', root, e);
    }
    if (!(await isDirectory(root))) throw new MailwardError('store.io', `${root} is not a directory`);
    const release = options.lock === false ? null : await acquireDataDirLock(root);
    const store = new FileSettingsStore(root, release);
    if (release && release.tookOverFrom !== null) {
      log.problem('store.recovered', { dir: root, deadPid: release.tookOverFrom });
      try {
        await store.sweepLeftovers();
      } catch (e) {
        await release();
        throw e;
      }
    }
    return store;
  }

  #key(kind: 'domain' | 'object', path: string): string {
    return `${kind}\0${path}`;
  }

  #domainLock(domain: string, exclusive: boolean): LockRequest {
    return { key: this.#key('domain', join(this.root, DOMAINS_DIR, domain)), exclusive };
  }

  #objectLocks(loc: ObjectLocation): LockRequest[] {
    const locks: LockRequest[] = [];
    if (loc.domain !== undefined) locks.push(this.#domainLock(loc.domain, false));
    // One key per account directory: the account's file and the account's rename/delete share it.
    locks.push({ key: this.#key('object', loc.account !== undefined ? loc.container : join(loc.dir, loc.file)), exclusive: true });
    return locks;
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new MailwardError('store.io', `${this.description} is closed`);
    const p = fn();
    this.#inflight.add(p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(p);
    }
  }

  #domainDir(domain: string): string {
    return join(this.root, DOMAINS_DIR, domain);
  }

  #noDomain(domain: string): MailwardError {
    return new MailwardError('store.notFound', `no domain ${printableName(domain)} in ${this.description}`);
  }

  #noAccount(domain: string, account: string): MailwardError {
    return new MailwardError('store.notFound', `no account ${printableName(account)} in domain ${printableName(domain)}`);
  }

  /** `store.notFound` naming what is missing when an object's container does not exist. */
  async #requireContainer(loc: ObjectLocation): Promise<void> {
    if (await isDirectory(loc.container)) return;
    if (loc.domain === undefined) throw new MailwardError('store.notFound', `${loc.container} is missing`);
    if (loc.account === undefined || !(await isDirectory(this.#domainDir(loc.domain)))) throw this.#noDomain(loc.domain);
    throw this.#noAccount(loc.domain, loc.account);
  }

  get(ref: ObjectRef): Promise<Versioned | null> {
    return this.#run(async () => {
      const loc = locate(this.root, ref);
      const path = join(loc.dir, loc.file);
      // No lock: rename makes each read see a whole file, old or new.
      const bytes = await readBounded(path);
      if (bytes === null) {
        await this.#requireContainer(loc);
        return null;
      }
      return { data: parseSettingsFile(path, bytes), revision: revisionOf(bytes) };
    });
  }

  put(ref: ObjectRef, data: CgDict, expected?: string | null): Promise<string> {
    return this.#run(async () => {
      const loc = locate(this.root, ref);
      const bytes = settingsFileBytes(data);
      const path = join(loc.dir, loc.file);
      return withLocks(this.#objectLocks(loc), async () => {
        // Settings/ may be missing in a hand-made or half-created domain: create that one level.
        if (loc.account === undefined && !(await mkdirOne(loc.dir))) await this.#requireContainer(loc);
        if (loc.account !== undefined) await this.#requireContainer(loc);
        if (expected !== undefined) {
          const current = await readBounded(path);
          const revision = current === null ? null : revisionOf(current);
          if (revision !== expected) {
            throw new MailwardError('store.conflict', `${path} is at revision ${revision ?? '(none)'}, not ${expected ?? '(none)'}`);
          }
        }
        await atomicReplace(loc.dir, loc.file, bytes);
        return revisionOf(bytes);
      });
    });
  }

  remove(ref: ObjectRef): Promise<void> {
    return this.#run(async () => {
      const loc = locate(this.root, ref);
      const path = join(loc.dir, loc.file);
      await withLocks(this.#objectLocks(loc), async () => {
        await this.#requireContainer(loc);
        try {
          await fs.unlink(path);
        } catch (e) {
          const code = errnoOf(e);
          if (code === 'ENOENT' || code === 'ENOTDIR') return; // already absent: nothing to remove
          throw ioError('remove', path, e);
        }
        await fsyncDir(loc.dir);
      });
    });
  }

  /** Directory entries that are valid names of the kind, sorted by code unit (locale-independent). */
  async #listNames(dir: string, kind: 'domain' | 'account'): Promise<string[]> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return [];
      throw ioError('list', dir, e);
    }
    const names: string[] = [];
    for (const ent of entries) {
      if (LEFTOVER_NAME.test(ent.name)) continue;
      let name = ent.name;
      if (kind === 'account') {
        if (!name.endsWith(ACCOUNT_DIR_SUFFIX)) { ignored(dir, ent.name, 'not an account directory'); continue; }
        name = name.slice(0, -ACCOUNT_DIR_SUFFIX.length);
      }
      const check = validateObjectName(kind, name);
      if (!check.ok) { ignored(dir, ent.name, check.reason); continue; }
      if (!ent.isDirectory()) { ignored(dir, ent.name, 'not a directory'); continue; }
      names.push(name);
    }
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  listDomains(): Promise<string[]> {
    return this.#run(() => this.#listNames(join(this.root, DOMAINS_DIR), 'domain'));
  }

  createDomain(domain: string): Promise<void> {
    return this.#run(async () => {
      assertObjectName('domain', domain);
      const domainsDir = join(this.root, DOMAINS_DIR);
      const dir = this.#domainDir(domain);
      await withLocks([this.#domainLock(domain, true)], async () => {
        if (!(await mkdirOne(domainsDir))) throw new MailwardError('store.io', `cannot create ${domainsDir}`);
        try {
          await fs.mkdir(dir, { mode: DIR_MODE });
        } catch (e) {
          if (errnoOf(e) === 'EEXIST') throw new MailwardError('store.exists', `domain ${printableName(domain)} exists`);
          throw ioError('create directory', dir, e);
        }
        // A crash between these steps leaves a domain without subdirectories, which every
        // operation accepts (they are created on first use).
        await mkdirOne(join(dir, SETTINGS_DIR));
        await mkdirOne(join(dir, ACCOUNTS_DIR));
        await fsyncDir(dir);
        await fsyncDir(domainsDir);
      });
    });
  }

  renameDomain(from: string, to: string): Promise<void> {
    return this.#run(async () => {
      assertObjectName('domain', from);
      assertObjectName('domain', to);
      await withLocks([this.#domainLock(from, true), this.#domainLock(to, true)], async () => {
        const src = this.#domainDir(from);
        const dst = this.#domainDir(to);
        if (!(await isDirectory(src))) throw this.#noDomain(from);
        // rename(2) would silently replace an empty directory: check first. Within this process the
        // locks make check-and-rename atomic; the data-directory lock keeps other processes out.
        if (await exists(dst)) throw new MailwardError('store.exists', `domain ${printableName(to)} exists`);
        try {
          await fs.rename(src, dst);
        } catch (e) {
          throw ioError('rename', src, e);
        }
        await fsyncDir(join(this.root, DOMAINS_DIR));
      });
    });
  }

  deleteDomain(domain: string): Promise<void> {
    return this.#run(async () => {
      assertObjectName('domain', domain);
      await withLocks([this.#domainLock(domain, true)], async () => {
        const dir = this.#domainDir(domain);
        if (!(await isDirectory(dir))) throw this.#noDomain(domain);
        await this.#removeTree(join(this.root, DOMAINS_DIR), domain);
      });
    });
  }

  /** Makes `parent/name` disappear in one rename, then removes the renamed tree. */
  async #removeTree(parent: string, name: string): Promise<void> {
    const doomed = join(parent, tempName(name, 'deleted'));
    try {
      await fs.rename(join(parent, name), doomed);
    } catch (e) {
      throw ioError('rename', join(parent, name), e);
    }
    await fsyncDir(parent);
    try {
      await fs.rm(doomed, { recursive: true, force: true });
    } catch (e) {
      // The object is gone already; what is left is swept after the next crash recovery.
      log.problem('store.cleanupFailed', { path: doomed, error: errnoOf(e) });
    }
  }

  listAccounts(domain: string): Promise<string[]> {
    return this.#run(async () => {
      assertObjectName('domain', domain);
      const dir = this.#domainDir(domain);
      if (!(await isDirectory(dir))) throw this.#noDomain(domain);
      return this.#listNames(join(dir, ACCOUNTS_DIR), 'account');
    });
  }

  createAccount(domain: string, account: string, settings: CgDict): Promise<void> {
    return this.#run(async () => {
      const loc = locate(this.root, { kind: 'account', domain, account });
      const bytes = settingsFileBytes(settings);
      await withLocks(this.#objectLocks(loc), async () => {
        const domainDir = this.#domainDir(domain);
        if (!(await isDirectory(domainDir))) throw this.#noDomain(domain);
        const accountsDir = join(domainDir, ACCOUNTS_DIR);
        if (!(await mkdirOne(accountsDir))) throw this.#noDomain(domain);
        if (await exists(loc.container)) throw new MailwardError('store.exists', `account ${printableName(account)} exists in domain ${printableName(domain)}`);
        // Prepared under a hidden name and renamed into place: the account appears with its
        // settings file, or not at all.
        const tmp = join(accountsDir, tempName(account + ACCOUNT_DIR_SUFFIX, 'tmp'));
        try {
          await fs.mkdir(tmp, { mode: DIR_MODE });
          await writeNewFile(join(tmp, ACCOUNT_FILE), bytes);
          await fsyncDir(tmp);
          await fs.rename(tmp, loc.container);
        } catch (e) {
          await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
          throw ioError('create account', loc.container, e);
        }
        await fsyncDir(accountsDir);
      });
    });
  }

  renameAccount(domain: string, from: string, to: string): Promise<void> {
    return this.#run(async () => {
      const src = locate(this.root, { kind: 'account', domain, account: from });
      const dst = locate(this.root, { kind: 'account', domain, account: to });
      await withLocks([...this.#objectLocks(src), ...this.#objectLocks(dst)], async () => {
        await this.#requireContainer(src);
        if (await exists(dst.container)) throw new MailwardError('store.exists', `account ${printableName(to)} exists in domain ${printableName(domain)}`);
        try {
          await fs.rename(src.container, dst.container);
        } catch (e) {
          throw ioError('rename', src.container, e);
        }
        await fsyncDir(join(this.#domainDir(domain), ACCOUNTS_DIR));
      });
    });
  }

  deleteAccount(domain: string, account: string): Promise<void> {
    return this.#run(async () => {
      const loc = locate(this.root, { kind: 'account', domain, account });
      await withLocks(this.#objectLocks(loc), async () => {
        await this.#requireContainer(loc);
        await this.#removeTree(join(this.#domainDir(domain), ACCOUNTS_DIR), account + ACCOUNT_DIR_SUFFIX);
      });
    });
  }

  /**
   * Removes the temporary files and half-deleted trees a crashed writer can leave. Runs when the
   * lock of a dead process is taken over; it reads every directory of the store once.
   */
  async sweepLeftovers(): Promise<number> {
    let swept = 0;
    const sweepDir = async (dir: string): Promise<string[]> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return [];
        throw ioError('list', dir, e);
      }
      const subdirs: string[] = [];
      for (const ent of entries) {
        const p = join(dir, ent.name);
        if (LEFTOVER_NAME.test(ent.name)) {
          await fs.rm(p, { recursive: true, force: true });
          swept++;
        } else if (ent.isDirectory()) {
          subdirs.push(p);
        }
      }
      return subdirs;
    };
    await sweepDir(join(this.root, SETTINGS_DIR));
    for (const domainDir of await sweepDir(join(this.root, DOMAINS_DIR))) {
      await sweepDir(join(domainDir, SETTINGS_DIR));
      for (const accountDir of await sweepDir(join(domainDir, ACCOUNTS_DIR))) await sweepDir(accountDir);
    }
    if (swept > 0) log.info('store.swept', { dir: this.root, count: swept });
    return swept;
  }

  /** Waits for running operations, then releases the data-directory lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    const release = this.#release;
    this.#release = null;
    await release?.();
  }
}

function ignored(dir: string, entry: string, reason: string): void {
  log.problem('store.ignored', { dir, entry: printableName(entry), reason });
}

/** Opens the file store on `dataDir` (created when missing); see FileStoreOptions. */
export function openFileStore(dataDir: string, options?: FileStoreOptions): Promise<FileSettingsStore> {
  return FileSettingsStore.open(dataDir, options);
}
