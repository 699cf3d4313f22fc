// The data-directory lock (S1): one writing process per data directory; a dead process's lock is
// taken over by exactly one newcomer; locks of live processes, other hosts or unknown content never.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { isMailwardError } from '../../../core/errors.js';
import { LOCK_FILE_NAME, acquireDataDirLock, lockContent, parseLock } from './lockfile.js';
import { openFileStore } from './store.js';

const RACER = fileURLToPath(new URL('./fixtures/lock-racer.js', import.meta.url));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(join(tmpdir(), 'mailward-lock-'));
  try {
    await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function lockedWith(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isMailwardError(e, 'store.locked'), `expected store.locked, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

const deadPid = (): number => {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  assert.ok(pid);
  return pid;
};

const lockText = (pid: number, host = hostname()): string => `${pid}\n${host}\n${'ab'.repeat(16)}\n`;

void test('S1 the lock holds this pid; a second acquire is refused until release', async () => {
  await withDir(async (dir) => {
    const release = await acquireDataDirLock(dir);
    assert.equal(release.tookOverFrom, null);
    const text = await fs.readFile(join(dir, LOCK_FILE_NAME), 'utf8');
    assert.match(text, new RegExp(`^${process.pid}\\n`));
    await lockedWith(acquireDataDirLock(dir), /already held by this process/);
    await lockedWith(openFileStore(dir), /already held by this process/);
    await release();
    await assert.rejects(fs.stat(join(dir, LOCK_FILE_NAME)));
    const store = await openFileStore(dir);
    await lockedWith(acquireDataDirLock(dir), /already held/);
    await store.close();
    const again = await acquireDataDirLock(dir);
    await again();
    await again(); // releasing twice is harmless
  });
});

void test('S1 a lock held by a live process is refused, naming its pid; once it is dead, it is taken over', async () => {
  await withDir(async (dir) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      assert.ok(child.pid);
      await fs.writeFile(join(dir, LOCK_FILE_NAME), lockText(child.pid));
      await lockedWith(acquireDataDirLock(dir), new RegExp(`in use by Mailward process ${child.pid}`));
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    const release = await acquireDataDirLock(dir);
    assert.equal(release.tookOverFrom, child.pid);
    assert.match(await fs.readFile(join(dir, LOCK_FILE_NAME), 'utf8'), new RegExp(`^${process.pid}\\n`));
    await release();
  });
});

void test('S1 a lock from another host, or one that is not a lock file, is never taken over', async () => {
  await withDir(async (dir) => {
    const path = join(dir, LOCK_FILE_NAME);
    const cases: [text: string, message: RegExp][] = [
      [lockText(deadPid(), 'other-host.example'), /on host "other-host.example"/],
      ['', /not a Mailward lock file/],
      ['12345', /not a Mailward lock file/],
      ['garbage\n\n\n', /not a Mailward lock file/],
      [lockText(0), /not a Mailward lock file/], // pid 0: kill(0) would signal our own process group
      [`-1\n${hostname()}\n${'ab'.repeat(16)}\n`, /not a Mailward lock file/], // kill(-1) signals every process
      [lockText(9999999999), /not a Mailward lock file/], // beyond int32: no pid of this host
      [lockText(deadPid()).replace(/\n/g, '\r\n'), /not a Mailward lock file/], // edited on Windows: not ours
      [lockText(deadPid()) + 'extra\n', /not a Mailward lock file/],
      [`${deadPid()}\n${hostname()}\nshort\n`, /not a Mailward lock file/],
    ];
    for (const [text, message] of cases) {
      await fs.writeFile(path, text);
      await lockedWith(acquireDataDirLock(dir), message);
      assert.equal(await fs.readFile(path, 'utf8'), text, 'left as it was');
    }
  });
});

void test('S1 fuzz: whatever a lock file holds, acquiring gives the lock or store.locked, never another error', async () => {
  await withDir(async (dir) => {
    const path = join(dir, LOCK_FILE_NAME);
    const content = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.tuple(fc.integer({ min: -5, max: 2 ** 33 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }))
        .map(([pid, host, token]) => `${pid}\n${host}\n${token}\n`),
    );
    await fc.assert(fc.asyncProperty(content, async (text) => {
      await fs.writeFile(path, text);
      try {
        const release = await acquireDataDirLock(dir);
        await release();
      } catch (e) {
        assert.ok(isMailwardError(e, 'store.locked'), String(e));
        assert.equal(await fs.readFile(path, 'utf8'), text, 'a refused lock is left as it was');
      }
    }), { numRuns: 40 }); // each run creates and fsyncs files: the parser itself is fuzzed below
  });
});

void test('S1 fuzz: the lock-file parser accepts only the exact form it writes, with a usable pid', () => {
  const near = fc.tuple(fc.oneof(fc.integer({ min: -3, max: 2 ** 32 }).map(String), fc.string({ maxLength: 12 })), fc.string({ maxLength: 20 }),
    fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }), fc.string({ maxLength: 40 })), fc.constantFrom('\n', '\r\n', '', '\n\n'))
    .map(([pid, host, token, end]) => `${pid}\n${host}\n${token}${end}`);
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), near), (text) => {
    const owner = parseLock(text);
    if (owner === null) return;
    assert.ok(Number.isSafeInteger(owner.pid) && owner.pid > 0 && owner.pid <= 0x7fffffff, `pid ${owner.pid}`);
    assert.equal(lockContent(owner), text, 'only the exact written form parses');
  }), { numRuns: 5000 });
});

void test('S1 release removes only its own lock', async () => {
  await withDir(async (dir) => {
    const path = join(dir, LOCK_FILE_NAME);
    const release = await acquireDataDirLock(dir);
    // An admin removed our lock and another process took the directory.
    const theirs = lockText(deadPid());
    await fs.writeFile(path, theirs);
    await release();
    assert.equal(await fs.readFile(path, 'utf8'), theirs);
  });
});

void test('S1 a stale lock raced for in this process: exactly one acquire wins', async () => {
  await withDir(async (dir) => {
    await fs.writeFile(join(dir, LOCK_FILE_NAME), lockText(deadPid()));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => acquireDataDirLock(dir)));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isMailwardError(r.reason, 'store.locked'), String(r.reason));
    if (won[0]?.status === 'fulfilled') await won[0].value();
    assert.deepEqual((await fs.readdir(dir)).sort(), [], 'no lock, guard or temporary file left');
  });
});

void test('S1 a stale lock raced for by 4 processes: exactly one takes it over', async () => {
  await withDir(async (dir) => {
    const dead = deadPid();
    await fs.writeFile(join(dir, LOCK_FILE_NAME), lockText(dead));
    const racers: { child: ChildProcessWithoutNullStreams; lines: AsyncIterableIterator<string> }[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        const child = spawn(process.execPath, [RACER, dir]);
        racers.push({ child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() });
      }
      for (const r of racers) assert.equal((await r.lines.next()).value, 'ready');
      for (const r of racers) r.child.stdin.write('go\n');
      const answers: string[] = [];
      for (const r of racers) answers.push(String((await r.lines.next()).value));
      assert.deepEqual(answers.filter((a) => a.startsWith('ok')), [`ok ${dead}`], answers.join(', '));
      assert.equal(answers.filter((a) => a === 'locked').length, 3, answers.join(', '));
    } finally {
      await Promise.all(racers.map(({ child }) => {
        const exited = new Promise((r) => child.once('close', r));
        child.stdin.end();
        return exited;
      }));
    }
    assert.deepEqual(await fs.readdir(dir), [], 'released on exit, nothing left behind');
  });
});

void test('S1 a store opened without the lock can read a directory another process writes', async () => {
  await withDir(async (dir) => {
    const writer = await openFileStore(dir);
    await writer.createDomain('example.com');
    const reader = await openFileStore(dir, { lock: false });
    assert.deepEqual(await reader.listDomains(), ['example.com']);
    await reader.close();
    assert.ok((await fs.readdir(dir)).includes(LOCK_FILE_NAME), "the reader's close leaves the writer's lock");
    await writer.close();
  });
});
