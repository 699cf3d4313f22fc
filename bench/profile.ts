/**
 * Profiles Mailward under one benchmark operation with `node --cpu-prof` and prints where the
 * time goes: self time by function and by area, and inclusive time of Mailward's own files.
 *
 *   node dist/bench/profile.js OP [SECONDS]
 *   OP: relay-plain | relay-stub | auth-plain | auth-scram | tls-full-rsa | tls-full-ec | tls-resumed | fetch | fetch-tls
 *
 * The same setup as the benchmark (bench/lib), one server, the generator on CPU 0 and Mailward on
 * CPU 1. The raw profile stays in the printed directory (open it in Chrome's DevTools).
 */
import { chmod, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Account } from './lib/client.js';
import { fetchThroughput } from './lib/fetch.js';
import { probe, runFor } from './lib/load.js';
import { DOMAINS, prepareMailward, startMailward } from './lib/mailward.js';
import { fullHandshakeOp, loginOp, resumedHandshakeOp, rotation } from './lib/ops.js';
import { pinTree } from './lib/proc.js';
import { deliver, GENERATOR_CPU, makeCert, pin, startDovecot, startStubBackend, type CertPair, type DovecotBench } from './lib/servers.js';

/** The start of the server process (module loading, test certificate) and the warm-up, left
 *  out of the summary. */
const PROFILE_SKIP_MS = 3000;

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native)';
  if (url.includes('/node_modules/')) return `npm:${url.split('/node_modules/')[1]?.split('/')[0] ?? '?'}`;
  const m = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url);
  if (m) return m[1] as string;
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'node:').replace(/\/[^/]*$/, '') || url;
  return url;
}

export function summarize(p: CpuProfile, top = 25, skipMs = 0): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from the samples and their time deltas (µs).
  // Samples of the start (module loading, the test certificate) are skipped: the load is what
  // is profiled.
  const self = new Map<number, number>();
  let at = 0;
  p.samples.forEach((id, i) => {
    at += p.timeDeltas[i] ?? 0;
    if (at >= skipMs * 1000) self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const callers = new Map<string, number>();
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnSelf = new Map<string, number>();
  const areaSelf = new Map<string, number>();
  const fileIncl = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? `${cf.url.replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')}:${cf.lineNumber + 1}` : ''}`;
    fnSelf.set(key, (fnSelf.get(key) ?? 0) + t);
    const a = area(cf.url, cf.functionName);
    if (cf.url === '' && !cf.functionName.startsWith('(')) {
      // Native work (system calls, crypto): which Mailward function asked for it.
      for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
        const c = byId.get(cur)?.callFrame;
        if (c && /\/dist\/src\//.test(c.url)) {
          const k = `${cf.functionName} <- ${c.functionName || '(anonymous)'} ${c.url.replace(/^.*\/dist\//, '')}:${c.lineNumber + 1}`;
          callers.set(k, (callers.get(k) ?? 0) + t);
          break;
        }
      }
    }
    areaSelf.set(a, (areaSelf.get(a) ?? 0) + t);
    // Inclusive time of Mailward's source files: every distinct src file on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const u = byId.get(cur)?.callFrame.url ?? '';
      const m = /\/dist\/(src\/.*)\.js$/.exec(u);
      if (m && !seen.has(m[1] as string)) { seen.add(m[1] as string); fileIncl.set(m[1] as string, (fileIncl.get(m[1] as string) ?? 0) + t); }
    }
  }
  const pct = (t: number): string => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
  const list = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => `${pct(t)}  ${k}`).join('\n');
  return [`total sampled ${(total / 1000).toFixed(0)} ms`, '', 'self time by area:', list(areaSelf, 15), '', 'self time by function:', list(fnSelf, top), '',
    'inclusive time of Mailward files:', list(fileIncl, 20), '', 'native work by the Mailward function that asked for it:', list(callers, 12)].join('\n');
}

async function main(): Promise<void> {
  const [op = 'relay-plain', secs = '10'] = process.argv.slice(2);
  pinTree(process.pid, GENERATOR_CPU);
  const work = await mkdtemp(join(tmpdir(), 'mw-profile-'));
  await chmod(work, 0o755);
  const certs = { rsa: await makeCert(work, DOMAINS.rsa, 'rsa'), ec: await makeCert(work, DOMAINS.ec, 'ec') };
  const names: Account[] = Array.from({ length: 20 }, (_, i) => ({ user: `user${i + 1}`, password: `pw-${randomBytes(6).toString('hex')}` }));
  names.push({ user: 'fetch', password: 'fetch-pw' });
  const at = (d: string) => (a: Account): Account => ({ user: `${a.user}@${d}`, password: a.password });
  const dovecot = await startDovecot(join(work, 'dovecot'), names.map(at(DOMAINS.relay)), certs);
  const stub = await startStubBackend().catch(async (e: unknown) => { await dovecot.proc.stop(); throw e; });
  try {
    await profileWith(op, Number(secs), work, certs, names, dovecot, stub.port);
  } finally {
    await stub.proc.stop();
    await dovecot.proc.stop();
  }
}

async function profileWith(op: string, secs: number, work: string, certs: { rsa: CertPair; ec: CertPair }, names: Account[], dovecot: DovecotBench, stubPort: number): Promise<void> {
  const at = (d: string) => (a: Account): Account => ({ user: `${a.user}@${d}`, password: a.password });
  await deliver(dovecot, 'fetch@bench.test', 'big', Buffer.alloc(10 * 1024 * 1024, 'x\r\n'));
  pin(dovecot.proc, GENERATOR_CPU);
  const mw = await prepareMailward(join(work, 'mailward'), { localNames: names, dovecot, stubPort, certs });
  const profDir = join(work, 'prof');
  const p = await startMailward(mw, { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const H = '127.0.0.1';
  const users = names.filter((a) => a.user.startsWith('user'));
  const base = { concurrency: 16, durationMs: secs * 1000, warmupMs: 500, server: probe([p.pid]) };
  try {
    let r: { usPerOp?: number; rate?: number; mbPerS?: number };
    switch (op) {
      case 'relay-plain': r = await runFor(loginOp('plain', { host: H, port: mw.ports.imap }, rotation(users.map(at(DOMAINS.relay)))), base); break;
      // The relayed login against the stub backend: the same work for Mailward, at a rate that
      // Dovecot's mail processes do not cap (the profile then shows Mailward, not its idle time).
      case 'relay-stub': r = await runFor(loginOp('plain', { host: H, port: mw.ports.imap }, rotation(users.map(at(DOMAINS.stub)))), base); break;
      case 'auth-plain': r = await runFor(loginOp('plain', { host: H, port: mw.ports.imap }, rotation(users.map(at(DOMAINS.none))), /UNAVAILABLE/), base); break;
      case 'auth-scram': r = await runFor(loginOp('scram', { host: H, port: mw.ports.imap }, rotation(users.map(at(DOMAINS.none))), /UNAVAILABLE/), base); break;
      case 'tls-full-rsa': r = await runFor(fullHandshakeOp(H, mw.ports.imaps, DOMAINS.rsa), base); break;
      case 'tls-full-ec': r = await runFor(fullHandshakeOp(H, mw.ports.imaps, DOMAINS.ec), base); break;
      case 'tls-resumed': r = await runFor(resumedHandshakeOp(H, mw.ports.imaps, DOMAINS.ec), base); break;
      case 'fetch': r = await fetchThroughput({ host: H, port: mw.ports.imap }, at(DOMAINS.relay)({ user: 'fetch', password: 'fetch-pw' }), 10 << 20, { durationMs: base.durationMs, warmupFetches: 2, server: base.server }); break;
      case 'fetch-tls': r = await fetchThroughput({ host: H, port: mw.ports.imaps, tls: { servername: DOMAINS.ec } }, at(DOMAINS.relay)({ user: 'fetch', password: 'fetch-pw' }), 10 << 20, { durationMs: base.durationMs, warmupFetches: 2, server: base.server }); break;
      default: throw new Error(`unknown operation ${op}`);
    }
    process.stdout.write(`${op}: ${JSON.stringify({ usPerOp: r.usPerOp, rate: r.rate, mbPerS: r.mbPerS })}\n`);
  } finally {
    await p.stop();
  }
  const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  for (const f of files) {
    process.stdout.write(`\n${join(profDir, f)}\n${summarize(JSON.parse(await readFile(join(profDir, f), 'utf8')) as CpuProfile, 25, PROFILE_SKIP_MS)}\n`);
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) main().catch((e: unknown) => { process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`); process.exitCode = 1; });
