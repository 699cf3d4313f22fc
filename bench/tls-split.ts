/**
 * Where a TLS handshake's server CPU goes, by thread and by user/kernel time: Mailward and the
 * bare Node TLS server (bench/tls-floor.ts) under the same load, read from /proc/<pid>/task/*.
 * The CPU profile (bench/profile.ts) sees only the main thread's JavaScript and the native calls
 * it makes; this says how much of µs/op is outside it (kernel, V8's helper threads).
 *   node dist/bench/tls-split.js [full-ec|full-rsa|resumed] [SECONDS]
 */
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOMAINS, prepareMailward, startMailward } from './lib/mailward.js';
import { fullHandshakeOp, resumedHandshakeOp } from './lib/ops.js';
import { CLOCK_TICKS, pinTree } from './lib/proc.js';
import { probe, runFor } from './lib/load.js';
import { percentile } from './lib/stats.js';
import { GENERATOR_CPU, makeCert, startStubBackend, type CertPair } from './lib/servers.js';
import { startTlsFloor } from './lib/tls-floor.js';

interface ThreadTimes { comm: string; user: number; sys: number }

async function threads(pid: number): Promise<Map<string, ThreadTimes>> {
  const out = new Map<string, ThreadTimes>();
  for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const text = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    const close = text.lastIndexOf(')');
    if (close < 0) continue;
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    out.set(tid, { comm: tid === String(pid) ? 'main' : comm, user: Number(f[11]) / CLOCK_TICKS, sys: Number(f[12]) / CLOCK_TICKS });
  }
  return out;
}

async function measure(name: string, pid: number, op: () => Promise<void>, secs: number): Promise<string> {
  const t0 = await threads(pid);
  const r = await runFor(op, { concurrency: 16, durationMs: secs * 1000, warmupMs: 500, server: probe([pid]), keepLatencies: true });
  const t1 = await threads(pid);
  const ops = r.ops;
  const per = (s: number): string => `${Math.round((s * 1e6) / ops)}`;
  const groups = new Map<string, { user: number; sys: number }>();
  for (const [tid, b] of t1) {
    const a = t0.get(tid) ?? { user: 0, sys: 0 };
    const key = b.comm.replace(/\d+$/, '#');
    const g = groups.get(key) ?? { user: 0, sys: 0 };
    g.user += b.user - a.user;
    g.sys += b.sys - a.sys;
    groups.set(key, g);
  }
  const rows = [...groups].filter(([, g]) => g.user + g.sys > 0).sort((x, y) => (y[1].user + y[1].sys) - (x[1].user + x[1].sys))
    .map(([k, g]) => `    ${k.padEnd(16)} user ${per(g.user).padStart(5)}  sys ${per(g.sys).padStart(5)} µs/op`);
  const lat = r.latencies ?? [];
  const ms = (q: number): string => percentile(lat, q).toFixed(1);
  return [`${name}: ${Math.round(r.usPerOp)} µs/op at ${Math.round(r.rate)}/s (client latency p50 ${ms(50)} ms, p99 ${ms(99)} ms, max ${ms(100)} ms)`, ...rows].join('\n');
}

async function main(): Promise<void> {
  const [kind = 'resumed', secs = '5'] = process.argv.slice(2);
  pinTree(process.pid, GENERATOR_CPU);
  const work = await mkdtemp(join(tmpdir(), 'mw-tls-split-'));
  await chmod(work, 0o755);
  const certs: { rsa: CertPair; ec: CertPair } = { rsa: await makeCert(work, DOMAINS.rsa, 'rsa'), ec: await makeCert(work, DOMAINS.ec, 'ec') };
  const key = kind === 'full-rsa' ? 'rsa' : 'ec';
  const op = (port: number): (() => Promise<void>) => (kind === 'resumed' ? resumedHandshakeOp : fullHandshakeOp)('127.0.0.1', port, certs[key].name);
  const stub = await startStubBackend();
  try {
    const floor = await startTlsFloor(certs[key]);
    const mw = await prepareMailward(join(work, 'mailward'), { localNames: [{ user: 'user1', password: 'bench-password-1' }], dovecot: { imapPort: stub.port, pop3Port: stub.port, master: { user: 'master', password: 'unused' } }, stubPort: stub.port, certs });
    // MW_NODE_FLAGS: node flags for Mailward, to compare V8 settings (e.g. --single-threaded-gc).
    const p = await startMailward(mw, { nodeFlags: (process.env.MW_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '') });
    try {
      for (let round = 1; round <= 2; round++) {
        process.stdout.write(`${await measure(`round ${round} Node tls.Server`, floor.proc.pid, op(floor.port), Number(secs))}\n`);
        process.stdout.write(`${await measure(`round ${round} Mailward`, p.pid, op(mw.ports.imaps), Number(secs))}\n`);
      }
    } finally {
      await p.stop();
      await floor.proc.stop();
    }
  } finally {
    await stub.proc.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
