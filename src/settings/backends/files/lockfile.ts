/**
 * The data-directory lock: `<data>/mailward.lock` holds the pid, host name and a random token of
 * the one process allowed to write the directory. The in-process locks (mutex.ts) make a
 * compare-and-set atomic only within one process; two processes writing the same files would lose
 * updates silently, so a second server, or the CLI while the server runs, is refused with
 * `store.locked`.
 *
 * The lock file is written complete and fsynced under a temporary name, then hard-linked to
 * `mailward.lock`: link(2) fails if the name exists, so creation is atomic and nobody ever reads a
 * half-written lock. A lock left by a dead process (the pid no longer exists on this host) is taken
 * over; the takeover itself is guarded by a second link-created file so that two processes
 * starting together after a crash cannot both take it. A lock from another host, or one that cannot
 * be read, is never taken over: the message says which file to remove once the admin is sure.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MailwardError } from '../../../core/errors.js';

export const LOCK_FILE_NAME = 'mailward.lock';
const TAKEOVER_FILE_NAME = 'mailward.lock.takeover';

/** How long to wait for another process that is taking over a stale lock: a takeover is a read
 *  and a rename, so 2 s means that process is stuck, not slow. */
const TAKEOVER_WAIT_MS = 2000;
/** Re-check interval while waiting for that process: short against the 2 s, long against a busy loop. */
const TAKEOVER_POLL_MS = 25;

export interface DataDirLockRelease {
  (): Promise<void>;
  /** The pid of the dead process whose lock was taken over, or null. A takeover means that process
   *  crashed: the store then sweeps the temporary files it may have left. */
  readonly tookOverFrom: number | null;
  readonly path: string;
}

export interface LockOwner { pid: number; host: string; token: string }

export function lockContent(owner: LockOwner): string {
  return `${owner.pid}\n${owner.host}\n${owner.token}\n`;
}

/** `<pid>\n<host>\n<token>\n`, nothing else: pid 0 or a negative pid would make process.kill
 *  address a whole process group, so only a plain positive number is a pid. */
export function parseLock(text: string): LockOwner | null {
  const m = /^([1-9][0-9]{0,9})\n([^\n]*)\n([0-9a-f]{32})\n$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  // process.kill refuses pids beyond int32; such a number is no pid of this host.
  if (pid > 0x7fffffff) return null;
  return { pid, host: m[2] ?? '', token: m[3] ?? '' };
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Whether a pid names a live process on this host. EPERM: it exists but belongs to another user. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) !== 'ESRCH';
  }
}

async function readOwner(path: string): Promise<{ text: string; owner: LockOwner | null } | null> {
  try {
    const text = await fs.readFile(path, { encoding: 'utf8' });
    return { text, owner: parseLock(text) };
  } catch (e) {
    if (errno(e) === 'ENOENT') return null;
    throw new MailwardError('store.io', `cannot read ${path}: ${errno(e) ?? String(e)}`, { cause: e });
  }
}

async function writeTemp(dir: string, content: string): Promise<string> {
  const tmp = join(dir, `.mailward.lock.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  const fh = await fs.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

async function unlinkQuiet(path: string): Promise<void> {
  await fs.unlink(path).catch((e: unknown) => {
    if (errno(e) !== 'ENOENT') throw e;
  });
}

/** Why an existing lock cannot be taken over, or null when its process is dead. */
function refusal(path: string, found: { text: string; owner: LockOwner | null }): string | null {
  const o = found.owner;
  if (!o) return `${path} exists but is not a Mailward lock file; remove it if no Mailward process uses this data directory`;
  if (o.host !== hostname()) return `${path} is held by pid ${o.pid} on host ${JSON.stringify(o.host)}; remove it if no Mailward process runs there`;
  if (o.pid === process.pid) return `${path} is already held by this process`;
  if (pidAlive(o.pid)) return `the data directory is in use by Mailward process ${o.pid} (${path})`;
  return null;
}

/**
 * Takes the lock of a data directory (created, mode 0700, when missing). Resolves to the release
 * function; throws `store.locked` when another live process holds it.
 */
export async function acquireDataDirLock(dir: string): Promise<DataDirLockRelease> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE_NAME);
  const guard = join(dir, TAKEOVER_FILE_NAME);
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(16).toString('hex') };
  const tmp = await writeTemp(dir, lockContent(me));
  let tookOverFrom: number | null = null;
  try {
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    for (;;) {
      try {
        await fs.link(tmp, path);
        break;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw new MailwardError('store.io', `cannot create ${path}: ${errno(e) ?? String(e)}`, { cause: e });
      }
      const found = await readOwner(path);
      if (!found) continue; // released between our link and our read
      const why = refusal(path, found);
      if (why) throw new MailwardError('store.locked', why);
      // The holder is dead. Take the guard, check again that the lock is still the same stale one
      // (another process may have taken it over meanwhile), then replace it in one rename.
      let guardTaken = false;
      try {
        await fs.link(tmp, guard);
        guardTaken = true;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw new MailwardError('store.io', `cannot create ${guard}: ${errno(e) ?? String(e)}`, { cause: e });
      }
      if (!guardTaken) {
        const g = await readOwner(guard);
        if (g && (!g.owner || (g.owner.host === hostname() && !pidAlive(g.owner.pid)))) {
          // A process died in the middle of a takeover: its guard is stale too.
          await unlinkQuiet(guard);
          continue;
        }
        if (Date.now() > deadline) throw new MailwardError('store.locked', `another process is taking over ${path}; try again`);
        await new Promise((r) => setTimeout(r, TAKEOVER_POLL_MS));
        continue;
      }
      try {
        const again = await readOwner(path);
        if (again && again.text === found.text) {
          const mine = await writeTemp(dir, lockContent(me));
          await fs.rename(mine, path);
          tookOverFrom = found.owner?.pid ?? null;
          break;
        }
        // Changed under us: loop and look at the new holder.
      } finally {
        await unlinkQuiet(guard);
      }
    }
    const dh = await fs.open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } finally {
    await unlinkQuiet(tmp);
  }

  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const found = await readOwner(path);
    // Only ever remove our own lock: if an admin removed ours and another process took the
    // directory, deleting its lock would let a third one in.
    if (found?.owner?.token === me.token) await unlinkQuiet(path);
  };
  return Object.assign(release, { tookOverFrom, path });
}
