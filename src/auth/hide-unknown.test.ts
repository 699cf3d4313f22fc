// H1: with Hide Unknown on, an unknown name and a wrong password give the same reply AND take the
// same time: the engine verifies a dummy argon2id hash for unknown names.
//
// Method: 200 logins of each kind, interleaved (so drift in machine load hits both alike), timed
// with process.hrtime; a two-sided Mann–Whitney U test (normal approximation with tie correction)
// compares the two distributions. The test fails when p < 0.001, i.e. when the two differ so much
// that chance explains it less than once in a thousand runs. For scale, the same test without the
// dummy verification gives p ≈ 0 (an unknown name answers ~100x faster than an argon2id check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileStore } from '../settings/backends/files/index.js';
import { dict } from '../settings/format/types.js';
import { Directory } from '../directory/directory.js';
import { AuthEngine, type AuthRequest } from './engine.js';
import { InProcessLockout } from './lockout.js';
import { PasswordService } from './password-service.js';

const TRIES = 200;
const P_THRESHOLD = 0.001;

/** Two-sided Mann–Whitney U p-value, normal approximation with tie correction. */
export function mannWhitneyP(a: number[], b: number[]): { u: number; z: number; p: number } {
  const all = [...a.map((v) => ({ v, g: 0 })), ...b.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = r;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const n1 = a.length, n2 = b.length, n = n1 + n2;
  let r1 = 0;
  all.forEach((x, i) => { if (x.g === 0) r1 += ranks[i]!; });
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
  const z = (u - mu) / sigma;
  return { u, z, p: 2 * (1 - normalCdf(Math.abs(z))) };
}

function normalCdf(x: number): number {
  // Abramowitz & Stegun 7.1.26 for erf; error < 1.5e-7, ample for a 0.001 threshold.
  const t = 1 / (1 + 0.3275911 * (x / Math.SQRT2));
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return 0.5 * (1 + y);
}

test('Mann–Whitney: identical samples give p = 1, shifted samples p ≈ 0', () => {
  const a = Array.from({ length: 100 }, (_, i) => i);
  assert.ok(mannWhitneyP(a, a).p > 0.99);
  assert.ok(mannWhitneyP(a, a.map((x) => x + 60)).p < 1e-6);
});

test('H1: unknown account and wrong password take the same time (Mann–Whitney, 200 each, p >= 0.001)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-h1-'));
  const store = await openFileStore(dir);
  try {
    // Lock-out off: 200 wrong passwords must all take the wrong-password path.
    await store.put({ kind: 'server' }, dict({ MainDomainName: 'example.com', HideUnknownAccounts: 'YES', LoginFailureLimit: '0', LoginFailureDelay: '0s' }));
    const d = new Directory(store);
    await d.createDomain('example.com');
    const passwords = new PasswordService(d);
    await d.createAccount('example.com', 'alice');
    await passwords.setPassword('example.com', 'alice', 'the-right-password');
    const engine = new AuthEngine({ directory: d, lockout: new InProcessLockout(), passwords });
    const req = (login: string): AuthRequest => ({ login, method: 'PLAIN', mode: 'IMAP', client: '127.0.0.1', secure: true, clearText: true, credential: { type: 'password', password: Buffer.from('a-wrong-password') } });
    const time = async (login: string) => {
      const t0 = process.hrtime.bigint();
      const o = await engine.authenticate(req(login));
      assert.equal(o.status, 'bad-credentials', 'the same reply for both');
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    for (let i = 0; i < 10; i++) { await time('alice'); await time('nobody'); } // warm caches and the JIT
    const known: number[] = [], unknown: number[] = [];
    for (let i = 0; i < TRIES; i++) {
      if (i % 2) { known.push(await time('alice')); unknown.push(await time(`nobody${i}`)); }
      else { unknown.push(await time(`nobody${i}`)); known.push(await time('alice')); }
    }
    const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    const r = mannWhitneyP(known, unknown);
    const summary = `median wrong-password ${med(known).toFixed(2)} ms, unknown ${med(unknown).toFixed(2)} ms, U=${r.u}, z=${r.z.toFixed(2)}, p=${r.p.toFixed(4)}`;
    console.log(`H1 timing: ${summary}`);
    assert.ok(r.p >= P_THRESHOLD, `timing differs: ${summary}`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
