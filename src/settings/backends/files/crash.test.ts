// Issue 2 "Done when" (S1): a writer process is killed with SIGKILL at random points during 1,000
// settings writes. After each kill every settings file parses, and every write acknowledged before
// the kill is present: the object's counter is the last acknowledged value, or one more (the write
// in flight when the kill came may or may not have landed; both are whole).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDictionary } from '../../format/index.js';
import { CRASH_OBJECTS } from './fixtures/crash-writer.js';
import { LEFTOVER_NAME } from './fsutil.js';
import { LOCK_FILE_NAME } from './lockfile.js';
import { locate, openFileStore } from './store.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));
const TOTAL_WRITES = 1000;
/** More kills than the five the issue asks for: each kill has a fair chance to land inside a write,
 *  and with eight a non-atomic write is caught almost every run (checked by breaking atomicReplace). */
const KILLS = 8;

interface Round { acks: number; lastAck: Map<number, number>; code: number | null; signal: NodeJS.Signals | null; killedAfter: number | null }

/** Runs the writer for `count` writes; kills it with SIGKILL a random 0-3 ms after its `killAfter`-th ack. */
function runWriter(data: string, count: number, killAfter: number | null): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, data, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const round: Round = { acks: 0, lastAck: new Map(), code: null, signal: null, killedAfter: null };
    let buffered = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      buffered += s;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (!m) continue;
        round.acks++;
        round.lastAck.set(Number(m[1]), Number(m[2]));
        if (killAfter !== null && round.acks === killAfter) {
          round.killedAfter = killAfter;
          setTimeout(() => child.kill('SIGKILL'), randomInt(0, 4));
        }
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      round.code = code;
      round.signal = signal;
      if (code !== 0 && signal !== 'SIGKILL') reject(new Error(`writer failed (${code ?? signal}): ${stderr}`));
      else resolve(round);
    });
  });
}

/** Parses every settings file directly (not through the store) and returns the other files. */
async function checkFiles(dir: string, rel = ''): Promise<string[]> {
  const others: string[] = [];
  for (const ent of await fs.readdir(dir, { withFileTypes: true })) {
    const path = join(dir, ent.name);
    const r = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) {
      if (LEFTOVER_NAME.test(ent.name)) others.push(r + '/');
      else others.push(...await checkFiles(path, r));
    } else if (ent.name.endsWith('.settings')) {
      const text = await fs.readFile(path, 'utf8');
      assert.doesNotThrow(() => parseDictionary(text, { source: path }), `${r} parses`);
    } else {
      others.push(r);
    }
  }
  return others;
}

void test('S1 SIGKILL at random points during 1,000 writes: every file parses, every acknowledged write is there', async () => {
  const top = await fs.mkdtemp(join(tmpdir(), 'mailward-crash-'));
  const data = join(top, 'data');
  const lastAck = new Map<number, number>();
  let acked = 0;
  let kills = 0;
  const started = Date.now();
  try {
    for (let round = 0; round <= KILLS; round++) {
      const remaining = TOTAL_WRITES - acked;
      const killing = round < KILLS;
      // Spread the kills over the run: each round may use up to its share of what is left.
      const killAfter = killing ? randomInt(1, Math.max(2, Math.floor(remaining / (KILLS - round + 1)))) : null;
      const r = await runWriter(data, remaining, killAfter);
      acked += r.acks;
      for (const [k, v] of r.lastAck) lastAck.set(k, v);
      if (r.signal === 'SIGKILL') kills++;
      else assert.equal(r.code, 0);

      // Every file parses; anything else is the lock of the dead writer or a leftover temporary.
      for (const other of await checkFiles(data)) {
        const name = other.replace(/\/$/, '').split('/').pop() ?? '';
        assert.ok(other === LOCK_FILE_NAME || LEFTOVER_NAME.test(name), `unexpected file ${other}`);
      }
      // Opening the store takes over the dead writer's lock and sweeps its temporaries.
      const store = await openFileStore(data);
      try {
        for (const [k, ref] of CRASH_OBJECTS.entries()) {
          const got = await store.get(ref);
          const want = lastAck.get(k) ?? 0;
          const have = got ? Number(got.data['counter']) : 0;
          const path = locate(data, ref);
          assert.ok(have === want || (r.signal === 'SIGKILL' && have === want + 1),
            `round ${round}: ${join(path.dir, path.file)} has counter ${have}; last acknowledged ${want}`);
          // The next round counts from what is stored, so an unacknowledged write that landed is kept.
          lastAck.set(k, have);
        }
      } finally {
        await store.close();
      }
      const leftovers = (await checkFiles(data)).filter((o) => o !== LOCK_FILE_NAME);
      assert.deepEqual(leftovers, [], 'swept when the lock was taken over');
      if (!killing) break;
    }
    assert.equal(acked, TOTAL_WRITES, 'all 1,000 writes acknowledged over the rounds');
    assert.ok(kills >= KILLS - 1, `the writer was killed mid-run (${kills} kills)`);
    const files = await checkFiles(data);
    assert.deepEqual(files, [], 'after a clean close: no lock, no leftovers');
    console.log(`# ${TOTAL_WRITES} writes, ${kills} SIGKILLs, ${Date.now() - started} ms`);
  } finally {
    await fs.rm(top, { recursive: true, force: true });
  }
});
