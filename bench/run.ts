/**
 * `npm run bench`: Mailward against Dovecot, nginx's mail proxy and `openssl s_server`, side by
 * side on this machine, written to docs/benchmarks.md (see bench/README.md).
 *
 *   node dist/bench/run.js [--smoke] [--out FILE] [--sections login,tls,relay,memory,latency,scaling]
 *
 * The generator (this process) runs on CPU 0, every server on CPU 1. Runs are interleaved: each
 * round measures every server for one operation before the next operation, and the rounds
 * repeat, so a slow drift of the machine touches every server alike.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Account, Target } from './lib/client.js';
import { fetchThroughput } from './lib/fetch.js';
import { idleMemory } from './lib/idle.js';
import { combine, probe, runFor, type CpuProbe } from './lib/load.js';
import { DOMAINS, prepareMailward, startMailward, updateMailwardServer } from './lib/mailward.js';
import { fullHandshakeOp, LOGIN_LABELS, loginOp, resumedHandshakeOp, rotation, type LoginKind } from './lib/ops.js';
import { pinTree } from './lib/proc.js';
import { startTlsFloor } from './lib/tls-floor.js';
import { startLoginFloor } from './lib/login-floor.js';
import { LATENCY_VARIANTS, renderReport, Results, SCALING_ROWS, type Scale } from './lib/report.js';
import {
  deliver, GENERATOR_CPU, makeCert, pin, ROOT, SERVER_CPU, startDovecot, startNginx, startSServer, startStubBackend, stopNginx, type Proc,
} from './lib/servers.js';
import { percentile } from './lib/stats.js';

export const FULL: Scale = {
  name: 'full', rounds: 3, durationMs: 2500, warmupMs: 500, concurrency: 16, idleConnections: 5000, fetchBytes: 10 * 1024 * 1024,
  latencyMs: 5000, attackers: 16, users: 50, settleMs: 1500,
};
export const SMOKE: Scale = {
  name: 'smoke', rounds: 1, durationMs: 250, warmupMs: 100, concurrency: 2, idleConnections: 20, fetchBytes: 256 * 1024,
  latencyMs: 300, attackers: 2, users: 3, settleMs: 100,
};

export const SECTIONS = ['login', 'tls', 'relay', 'memory', 'latency', 'scaling'] as const;
export type Section = (typeof SECTIONS)[number];

function log(s: string): void { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`); }

/** A 10 MB message: headers and 76-column lines of base64, like a large attachment. */
function bigMessage(size: number): Buffer {
  const head = 'From: bench@bench.test\r\nTo: fetch@bench.test\r\nSubject: relay throughput\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n';
  const lines: string[] = [];
  let len = head.length;
  const chunk = randomBytes(57 * 1024).toString('base64').match(/.{1,76}/g) ?? [];
  while (len < size) for (const l of chunk) { lines.push(l); len += l.length + 2; if (len >= size) break; }
  return Buffer.from(head + lines.join('\r\n') + '\r\n');
}

export interface RunOptions { scale: Scale; sections: readonly Section[]; out?: string; svgOut?: string }

export async function runBench(opts: RunOptions): Promise<Results> {
  const scale = opts.scale;
  const res = new Results(scale);
  // A failed measurement is recorded and reported; the others go on.
  const safe = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try { await fn(); } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      log(`FAILED ${what}: ${msg}`);
      res.failures.push(`${what}: ${msg}`);
    }
  };
  // The generator: this process, every thread, on its own CPU.
  pinTree(process.pid, GENERATOR_CPU);
  const work = await mkdtemp(join(tmpdir(), 'mw-bench-'));
  // Dovecot's auth and mail processes (users dovecot, nobody) read files under it.
  await chmod(work, 0o755);
  const procs: Proc[] = [];
  const nginxes: Awaited<ReturnType<typeof startNginx>>[] = [];
  try {
    log(`work directory ${work}; scale ${scale.name}`);
    const certs = { rsa: await makeCert(work, DOMAINS.rsa, 'rsa'), ec: await makeCert(work, DOMAINS.ec, 'ec') };
    const names: Account[] = Array.from({ length: scale.users }, (_, i) => ({ user: `user${i + 1}`, password: `pw-${i + 1}-${randomBytes(6).toString('hex')}` }));
    names.push({ user: 'victim', password: randomBytes(9).toString('base64url') }, { user: 'fetch', password: randomBytes(9).toString('base64url') });
    const at = (d: string) => (a: Account): Account => ({ user: `${a.user}@${d}`, password: a.password });
    const legit = names.filter((a) => a.user.startsWith('user'));
    const relayUsers = legit.map(at(DOMAINS.relay));
    const noneUsers = legit.map(at(DOMAINS.none));
    const stubUsers = legit.map(at(DOMAINS.stub));
    const fetchUser = at(DOMAINS.relay)(names.find((a) => a.user === 'fetch') as Account);
    const victim = at(DOMAINS.relay)(names.find((a) => a.user === 'victim') as Account);

    log('starting Dovecot');
    const dovecot = await startDovecot(join(work, 'dovecot'), names.map(at(DOMAINS.relay)).map((a) => ({ user: a.user, password: a.password })), certs);
    procs.push(dovecot.proc);
    await deliver(dovecot, fetchUser.user, 'big', bigMessage(scale.fetchBytes));
    const stub = await startStubBackend();
    procs.push(stub.proc);

    log('preparing Mailward');
    const mw = await prepareMailward(join(work, 'mailward'), { localNames: names, dovecot, stubPort: stub.port, certs });
    const usersFile = join(work, 'nginx-users.json');
    await writeFile(usersFile, JSON.stringify(Object.fromEntries([...names.map(at(DOMAINS.relay)), ...names.map(at(DOMAINS.stub))].map((a) => [a.user, a.password]))));
    const backends = { [`${DOMAINS.relay}|imap`]: dovecot.imapPort, [`${DOMAINS.relay}|pop3`]: dovecot.pop3Port, [`${DOMAINS.stub}|imap`]: stub.port };
    log('starting nginx (default buffers and 64 KiB proxy_buffer)');
    const nginx = await startNginx(join(work, 'nginx'), usersFile, backends, certs);
    nginxes.push(nginx);
    const nginx64 = await startNginx(join(work, 'nginx64'), usersFile, backends, certs, '64k');
    nginxes.push(nginx64);
    log('starting Mailward');
    let mailward = await startMailward(mw);
    procs.push(mailward);
    log('starting openssl s_server (RSA, ECDSA)');
    const sRsa = await startSServer(certs.rsa);
    const sEc = await startSServer(certs.ec);
    procs.push(sRsa.proc, sEc.proc);
    // The floor for Mailward's handshakes: a bare Node TLS server (bench/tls-floor.ts).
    const floor = opts.sections.includes('tls') ? { rsa: await startTlsFloor(certs.rsa), ec: await startTlsFloor(certs.ec) } : undefined;
    if (floor) procs.push(floor.rsa.proc, floor.ec.proc);
    // The floor for Mailward's relayed logins: a bare Node IMAP proxy (bench/login-floor.ts).
    const loginFloor = opts.sections.includes('login') ? await startLoginFloor(usersFile, backends, dovecot.master) : undefined;
    if (loginFloor) procs.push(loginFloor.proc);

    const H = '127.0.0.1';
    // Reads the pid at each call: the memory test replaces the Mailward process.
    const mwProbe: CpuProbe = { cpu: () => probe([mailward.pid]).cpu() };
    const nginxProbe = (n: typeof nginx): CpuProbe => combine(probe([n.proc.pid]), probe([n.auth.pid]));
    const dovecotAll = probe([dovecot.proc.pid]);
    const dovecotPre = (login: string): CpuProbe => probe([dovecot.proc.pid], (c) => c === login || c === 'auth');
    const backendOnGenerator = (): void => pin(dovecot.proc, GENERATOR_CPU);
    const dovecotOnServer = (): void => pin(dovecot.proc, SERVER_CPU);
    const base = { concurrency: scale.concurrency, durationMs: scale.durationMs, warmupMs: scale.warmupMs };

    const kinds: LoginKind[] = ['login', 'plain', 'scram', 'pop3'];
    const noBackend = /No mail server is configured|\[SYS\/TEMP\]|-ERR|\[UNAVAILABLE\]/;
    for (let round = 1; round <= scale.rounds; round++) {
      log(`round ${round} of ${scale.rounds}`);
      if (opts.sections.includes('login')) {
        for (const k of kinds) {
          const label = LOGIN_LABELS[k];
          const mwPort = k === 'pop3' ? mw.ports.pop3 : mw.ports.imap;
          backendOnGenerator();
          await safe(`login ${label}/Mailward relayed`, async () => res.login(label, 'Mailward relayed', await runFor(loginOp(k, { host: H, port: mwPort }, rotation(relayUsers)), { ...base, server: mwProbe })));
          if (k !== 'scram') {
            await safe(`login ${label}/nginx + auth_http relayed`, async () => res.login(label, 'nginx + auth_http relayed', await runFor(loginOp(k, { host: H, port: k === 'pop3' ? nginx.pop3Port : nginx.imapPort }, rotation(relayUsers)), { ...base, server: nginxProbe(nginx) })));
          }
          if (loginFloor && (k === 'login' || k === 'plain')) {
            await safe(`login ${label}/Node floor relayed`, async () => res.login(label, 'Node floor relayed', await runFor(loginOp(k, { host: H, port: loginFloor.port }, rotation(relayUsers)), { ...base, server: probe([loginFloor.proc.pid]) })));
          }
          await safe(`login ${label}/Mailward auth-only`, async () => res.login(label, 'Mailward auth-only', await runFor(loginOp(k, { host: H, port: mwPort }, rotation(noneUsers), noBackend), { ...base, server: mwProbe })));
          dovecotOnServer();
          await safe(`login ${label}/Dovecot pre-auth`, async () => res.login(label, 'Dovecot pre-auth', await runFor(loginOp(k, { host: H, port: k === 'pop3' ? dovecot.pop3Port : dovecot.imapPort }, rotation(relayUsers)),
            { ...base, server: dovecotPre(k === 'pop3' ? 'pop3-login' : 'imap-login') })));
          log(`  ${label} done`);
        }
      }
      if (opts.sections.includes('tls')) {
        dovecotOnServer();
        const rows: [string, 'rsa' | 'ec', boolean][] = [['full handshake, RSA 2048', 'rsa', false], ['full handshake, ECDSA P-256', 'ec', false], ['resumed TLS 1.3 handshake (ECDSA)', 'ec', true]];
        for (const [row, key, resumed] of rows) {
          const op = resumed ? resumedHandshakeOp : fullHandshakeOp;
          const name = certs[key].name;
          await safe(`tls ${row}/openssl s_server`, async () => res.tls(row, 'openssl s_server', await runFor(op(H, (key === 'rsa' ? sRsa : sEc).port, name), { ...base, concurrency: 1, server: probe([(key === 'rsa' ? sRsa : sEc).proc.pid]) })));
          await safe(`tls ${row}/nginx`, async () => res.tls(row, 'nginx', await runFor(op(H, key === 'rsa' ? nginx.imapRsaPort : nginx.imapEcPort, name), { ...base, server: probe([nginx.proc.pid]) })));
          const fl = floor?.[key];
          if (fl) await safe(`tls ${row}/Node tls.Server`, async () => res.tls(row, 'Node tls.Server', await runFor(op(H, fl.port, name), { ...base, server: probe([fl.proc.pid]) })));
          await safe(`tls ${row}/Mailward`, async () => res.tls(row, 'Mailward', await runFor(op(H, mw.ports.imaps, name), { ...base, server: mwProbe })));
          await safe(`tls ${row}/Dovecot`, async () => res.tls(row, 'Dovecot', await runFor(op(H, dovecot.imapsPort, name), { ...base, server: dovecotAll })));
        }
        log('  TLS done');
      }
      if (opts.sections.includes('relay')) {
        const t = { durationMs: scale.durationMs * 2, warmupFetches: 2 };
        for (const tls of [false, true]) {
          const row = tls ? 'TLS to the client' : 'plain';
          const sni = { servername: certs.ec.name };
          const tgt = (port: number): Target => (tls ? { host: H, port, tls: sni } : { host: H, port });
          dovecotOnServer();
          await safe(`relay ${row}/Dovecot direct`, async () => res.relay(row, 'Dovecot direct', await fetchThroughput(tgt(tls ? dovecot.imapsPort : dovecot.imapPort), fetchUser, scale.fetchBytes, { ...t, server: dovecotAll })));
          backendOnGenerator();
          await safe(`relay ${row}/nginx`, async () => res.relay(row, 'nginx', await fetchThroughput(tgt(tls ? nginx.imapEcPort : nginx.imapPort), fetchUser, scale.fetchBytes, { ...t, server: nginxProbe(nginx) })));
          await safe(`relay ${row}/nginx 64k`, async () => res.relay(row, 'nginx, 64 KiB buffers', await fetchThroughput(tgt(tls ? nginx64.imapEcPort : nginx64.imapPort), fetchUser, scale.fetchBytes, { ...t, server: nginxProbe(nginx64) })));
          await safe(`relay ${row}/Mailward`, async () => res.relay(row, 'Mailward', await fetchThroughput(tgt(tls ? mw.ports.imaps : mw.ports.imap), fetchUser, scale.fetchBytes, { ...t, server: mwProbe })));
        }
        log('  relay done');
      }
      if (opts.sections.includes('memory')) {
        // Fresh processes for each measurement (see idleMemory).
        for (const tls of [false, true]) {
          const row = tls ? 'TLS' : 'plain';
          const sni = { servername: certs.ec.name };
          const fresh = await startNginx(join(work, `nginx-mem-${round}-${row}`), usersFile, backends, certs);
          try {
            const nTarget: Target = tls ? { host: H, port: fresh.imapEcPort, tls: sni } : { host: H, port: fresh.imapPort };
            await safe(`memory ${row}/nginx`, async () => res.memory(row, 'nginx', await idleMemory(nTarget, rotation(stubUsers), scale.idleConnections, [fresh.proc.pid], scale.settleMs)));
          } finally {
            await stopNginx(fresh);
          }
          await mailward.stop();
          procs.splice(procs.indexOf(mailward), 1);
          mailward = await startMailward(mw);
          procs.push(mailward);
          const mTarget: Target = tls ? { host: H, port: mw.ports.imaps, tls: sni } : { host: H, port: mw.ports.imap };
          await safe(`memory ${row}/Mailward`, async () => res.memory(row, 'Mailward', await idleMemory(mTarget, rotation(stubUsers), scale.idleConnections, [mailward.pid], scale.settleMs)));
        }
        log('  memory done');
      }
      if (opts.sections.includes('latency')) {
        backendOnGenerator();
        const legitOp = loginOp('plain', { host: H, port: mw.ports.imap }, rotation(relayUsers));
        const lat = { concurrency: 1, durationMs: scale.latencyMs, warmupMs: scale.warmupMs, server: mwProbe, keepLatencies: true };
        const attackOp = loginOp('plain', { host: H, port: mw.ports.imap }, () => ({ user: victim.user, password: 'wrong-password' }), /^a NO/);
        // Twice: with Mailward's defaults (the goal), then with LoginFailureDelay 0s, which shows
        // what the flood costs when every guess is answered at once.
        for (const variant of LATENCY_VARIANTS) {
          if (variant.delay !== undefined) {
            await mailward.stop();
            procs.splice(procs.indexOf(mailward), 1);
            await updateMailwardServer(mw, { LoginFailureDelay: variant.delay });
            mailward = await startMailward(mw);
            procs.push(mailward);
          }
          const idle = await runFor(legitOp, lat);
          let stop = false;
          let attempts = 0;
          const attacker = async (): Promise<void> => { while (!stop) { try { await attackOp(); attempts++; } catch { await new Promise((r) => setTimeout(r, 5)); } } };
          const attackers = Array.from({ length: scale.attackers }, attacker);
          const t0 = performance.now();
          const busy = await runFor(legitOp, lat);
          stop = true;
          await Promise.all(attackers);
          const attackRate = attempts / ((performance.now() - t0) / 1000);
          res.latency(variant.label, percentile(idle.latencies ?? [], 99), percentile(busy.latencies ?? [], 99), attackRate, busy.generatorLoad);
        }
        // Back to the defaults for the next round.
        await mailward.stop();
        procs.splice(procs.indexOf(mailward), 1);
        await updateMailwardServer(mw, { LoginFailureDelay: null });
        mailward = await startMailward(mw);
        procs.push(mailward);
        log('  latency done');
      }
    }
    if (opts.sections.includes('scaling')) {
      // Multi-core: the same login through `mailward start --workers N` (bench/mailward-cluster.ts):
      // 1 is the ordinary single process, 2 the multi-core mode, whose workers share the lock-out
      // counters (H2) through the primary. Two workers need both CPUs, so here
      // the generator shares them (its load is reported).
      await mailward.stop();
      procs.splice(procs.indexOf(mailward), 1);
      const op = loginOp('plain', { host: H, port: mw.ports.imap }, rotation(noneUsers), noBackend);
      for (let round = 1; round <= scale.rounds; round++) {
        for (const [label, workers, cpus] of [[SCALING_ROWS[0] as string, 1, SERVER_CPU], [SCALING_ROWS[1] as string, 2, '0,1']] as const) {
          const p = await startMailward(mw, { workers, cpus });
          try {
            if (workers === 2) pinTree(process.pid, '0,1');
            await safe(`scaling ${label}`, async () => res.scaling(label, await runFor(op, { ...base, concurrency: scale.concurrency * 2, server: probe([p.pid]) })));
          } finally {
            pinTree(process.pid, GENERATOR_CPU);
            await p.stop();
          }
        }
      }
      log('  scaling done');
    }
  } catch (e) {
    if (process.env.MW_BENCH_LOG) for (const p of procs) log(`${p.name} output:\n${p.output().slice(-5000)}`);
    throw e;
  } finally {
    for (const n of nginxes) await stopNginx(n).catch(() => undefined);
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
    if (!process.env.MW_BENCH_KEEP) await rm(work, { recursive: true, force: true }).catch(() => undefined);
  }
  res.meta = machineInfo();
  if (opts.out) {
    // The figures themselves, so the report can be written again (bench/worklog.md edited)
    // without measuring again: node dist/bench/run.js --render FILE.json --out FILE.md
    await writeFile(opts.out.replace(/\.md$/, '') + '-data.json', JSON.stringify(res.toJSON(), null, 1));
    const { markdown, svg } = await renderReport(res, opts.svgOut ? { svgName: opts.svgOut.split('/').pop() as string } : {});
    await writeFile(opts.out, markdown);
    if (opts.svgOut) await writeFile(opts.svgOut, svg);
    log(`wrote ${opts.out}`);
  }
  return res;
}

function machineInfo(): Record<string, string> {
  const sh = (cmd: string): string => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim();
  return {
    cpu: sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").trim(),
    cores: sh('nproc --all'),
    kernel: sh('uname -r'),
    node: process.version,
    dovecot: sh('dovecot --version 2>/dev/null'),
    nginx: sh('nginx -v 2>&1').replace(/^nginx version: /, ''),
    openssl: sh('openssl version'),
    date: new Date().toISOString().slice(0, 10),
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const args = process.argv.slice(2);
  const smoke = args.includes('--smoke');
  const outAt = args.indexOf('--out');
  const secAt = args.indexOf('--sections');
  const sections = secAt >= 0 ? (args[secAt + 1] ?? '').split(',') as Section[] : [...SECTIONS];
  const out = outAt >= 0 ? args[outAt + 1] : join(ROOT, 'docs/benchmarks.md');
  const renderAt = args.indexOf('--render');
  if (renderAt >= 0) {
    const data = JSON.parse(await readFile(args[renderAt + 1] ?? '', 'utf8')) as ReturnType<Results['toJSON']>;
    const { markdown, svg } = await renderReport(Results.fromJSON(data), { svgName: `${(out ?? '').split('/').pop()?.replace(/\.md$/, '')}-rates.svg` });
    await writeFile(out ?? '', markdown);
    await writeFile((out ?? '').replace(/\.md$/, '') + '-rates.svg', svg);
    process.exit(0);
  }
  runBench({ scale: smoke ? SMOKE : FULL, sections, ...(out ? { out, svgOut: out.replace(/\.md$/, '') + '-rates.svg' } : {}) }).catch((e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
