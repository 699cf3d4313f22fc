/**
 * Prints per-scheme verification times (median and 90th percentile of sequential calls, after a
 * warm-up) for the report and for choosing parameters. A measuring script, not a test: run
 *   npx tsc -p . && node dist/src/passwords/testing/measure-verify.js
 * The stored strings come from the independent tools, argon2id from hashNewPassword.
 */
import { loadavg } from 'node:os';
import { closeCryptPool, dummyVerify, hashNewPassword, verify } from '../index.js';
import { toolOutput } from './tools.js';

const PW = 'correct horse battery';
const RUNS = 25;

async function main(): Promise<void> {
  const made = await hashNewPassword(PW, { encryption: 'one-way' });
  if (!made.ok) throw new Error('hashNewPassword failed');
  const rows: [string, string][] = [
    ['clear', PW],
    ['{SSHA512} (doveadm)', await toolOutput('doveadm', ['pw', '-s', 'SSHA512', '-p', PW])],
    ['{CRYPT} DES (mkpasswd)', `{CRYPT}${await toolOutput('mkpasswd', ['-m', 'des', PW])}`],
    ['$1$ MD5-crypt (openssl)', await toolOutput('openssl', ['passwd', '-1', PW])],
    ['$5$ SHA256-crypt 5000 (openssl)', await toolOutput('openssl', ['passwd', '-5', PW])],
    ['$6$ SHA512-crypt 5000 (openssl)', await toolOutput('openssl', ['passwd', '-6', PW])],
    ['$6$ rounds=50000 (mkpasswd)', await toolOutput('mkpasswd', ['-m', 'sha512crypt', '-R', '50000', PW])],
    ['$2b$ bcrypt cost 10 (mkpasswd)', await toolOutput('mkpasswd', ['-m', 'bcrypt', '-R', '10', PW])],
    ['$2y$ bcrypt cost 12 (htpasswd)', (await toolOutput('htpasswd', ['-bnB', '-C', '12', 'u', PW])).slice(2)],
    ['{SCRAM-SHA-256} 4096 (doveadm)', await toolOutput('doveadm', ['pw', '-s', 'SCRAM-SHA-256', '-p', PW])],
    ['{SCRAM-SHA-256} 65536 (ours)', made.scram?.['SHA-256'] ?? ''],
    ['$3$ NT (mkpasswd)', await toolOutput('mkpasswd', ['-m', 'nt', PW])],
    ['argon2id m=65536,t=3 (doveadm)', await toolOutput('doveadm', ['pw', '-s', 'ARGON2ID', '-p', PW])],
    ['argon2id current (ours)', made.password],
  ];
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${RUNS} sequential verifications each`);
  for (const [label, stored] of rows) {
    const times: number[] = [];
    await verify(PW, stored, { encryption: 'one-way' });
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const r = await verify(PW, stored, { encryption: 'one-way' });
      times.push(performance.now() - t);
      if (!r.ok) throw new Error(`${label} did not verify`);
    }
    times.sort((a, b) => a - b);
    const q = (p: number): string => (times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0).toFixed(2);
    console.log(`${label.padEnd(34)} median ${q(0.5).padStart(8)} ms   p90 ${q(0.9).padStart(8)} ms`);
  }
  const d: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await dummyVerify(PW);
    d.push(performance.now() - t);
  }
  d.sort((a, b) => a - b);
  console.log(`${'dummyVerify (H1)'.padEnd(34)} median ${(d[Math.floor(RUNS / 2)] ?? 0).toFixed(2).padStart(8)} ms`);
  await closeCryptPool();
}

await main();
