/** The collected figures and docs/benchmarks.md with its SVG plot of the rates. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ThroughputResult } from './fetch.js';
import type { RunResult } from './load.js';
import { ROOT } from './servers.js';
import { fmt, num, summarize, type Summary } from './stats.js';

export interface Scale {
  name: string;
  rounds: number;
  durationMs: number;
  warmupMs: number;
  concurrency: number;
  idleConnections: number;
  fetchBytes: number;
  latencyMs: number;
  attackers: number;
  users: number;
  /** Pause before PSS is read in the memory test. */
  settleMs: number;
}

type Cell = Map<string, number[]>;

/** Figures by section, row, column and metric; one value per round. */
export class Results {
  meta: Record<string, string> = {};
  readonly failures: string[] = [];
  readonly cells = new Map<string, number[]>();
  readonly genLoad = new Map<string, number[]>();
  constructor(readonly scale: Scale) {}

  #add(m: Cell, key: string, v: number): void {
    const l = m.get(key) ?? [];
    l.push(v);
    m.set(key, l);
  }
  put(section: string, row: string, col: string, metric: string, v: number): void { this.#add(this.cells, `${section}|${row}|${col}|${metric}`, v); }
  get(section: string, row: string, col: string, metric: string): Summary { return summarize(this.cells.get(`${section}|${row}|${col}|${metric}`) ?? []); }
  #gen(section: string, v: number): void { this.#add(this.genLoad, section, v); }

  login(row: string, col: string, r: RunResult): void { this.put('login', row, col, 'us', r.usPerOp); this.put('login', row, col, 'rate', r.rate); this.#gen('login', r.generatorLoad); }
  tls(row: string, col: string, r: RunResult): void { this.put('tls', row, col, 'us', r.usPerOp); this.put('tls', row, col, 'rate', r.rate); this.#gen('tls', r.generatorLoad); }
  relay(row: string, col: string, r: ThroughputResult): void { this.put('relay', row, col, 'mbps', r.mbPerS); this.put('relay', row, col, 'usPerMB', r.usPerMB); this.#gen('relay', r.generatorLoad); }
  memory(row: string, col: string, r: { bytesPerConn: number }): void { this.put('memory', row, col, 'kib', r.bytesPerConn / 1024); }
  latency(variant: string, idleP99: number, busyP99: number, attackRate: number, gen: number): void {
    this.put('latency', variant, 'idle', 'p99', idleP99);
    this.put('latency', variant, 'attack', 'p99', busyP99);
    this.put('latency', variant, 'rate', 'rate', attackRate);
    this.#gen('latency', gen);
  }
  scaling(row: string, r: RunResult): void { this.put('scaling', row, 'x', 'rate', r.rate); this.put('scaling', row, 'x', 'us', r.usPerOp); this.#gen('scaling', r.generatorLoad); }
  generator(section: string): Summary { return summarize(this.genLoad.get(section) ?? []); }

  toJSON(): { scale: Scale; meta: Record<string, string>; failures: string[]; cells: [string, number[]][]; genLoad: [string, number[]][] } {
    return { scale: this.scale, meta: this.meta, failures: this.failures, cells: [...this.cells], genLoad: [...this.genLoad] };
  }

  static fromJSON(j: ReturnType<Results['toJSON']>): Results {
    const r = new Results(j.scale);
    r.meta = j.meta;
    r.failures.push(...j.failures);
    for (const [k, v] of j.cells) r.cells.set(k, v);
    for (const [k, v] of j.genLoad) r.genLoad.set(k, v);
    return r;
  }
}

export const LOGIN_ROWS = ['IMAP LOGIN', 'IMAP AUTHENTICATE PLAIN', 'IMAP AUTHENTICATE SCRAM-SHA-256', 'POP3 USER/PASS'];
export const LOGIN_COLS = ['Mailward relayed', 'nginx + auth_http relayed', 'Node floor relayed', 'Mailward auth-only', 'Dovecot pre-auth'];
export const TLS_ROWS = ['full handshake, RSA 2048', 'full handshake, ECDSA P-256', 'resumed TLS 1.3 handshake (ECDSA)'];
export const TLS_COLS = ['openssl s_server', 'nginx', 'Node tls.Server', 'Mailward', 'Dovecot'];
/** The latency test's runs: Mailward's defaults (the goal), then failures answered at once. */
export const LATENCY_VARIANTS: readonly { label: string; delay?: string }[] = [
  { label: 'defaults (LoginFailureDelay 2s)' },
  { label: 'LoginFailureDelay 0s', delay: '0s' },
];
export const RELAY_ROWS = ['plain', 'TLS to the client'];
export const RELAY_COLS = ['Dovecot direct', 'nginx', 'nginx, 64 KiB buffers', 'Mailward'];
export const MEMORY_ROWS = ['plain', 'TLS'];
export const SCALING_ROWS = ['mailward start, one process (CPU 1)', 'mailward start --workers 2 (CPUs 0-1)'];

export interface Goal { goal: string; measured: string; ratio: number; target: string; met: boolean | null }

export function goals(r: Results): Goal[] {
  const m = (s: string, row: string, col: string, metric: string): number => r.get(s, row, col, metric).median;
  const out: Goal[] = [];
  const le = (goal: string, a: number, b: number, limit: number, what: string): void => {
    const ratio = a / b;
    out.push({ goal, measured: what, ratio, target: `≤ ${limit}`, met: Number.isFinite(ratio) ? ratio <= limit : null });
  };
  const ge = (goal: string, a: number, b: number, limit: number, what: string): void => {
    const ratio = a / b;
    out.push({ goal, measured: what, ratio, target: `≥ ${limit}`, met: Number.isFinite(ratio) ? ratio >= limit : null });
  };
  const P = 'IMAP AUTHENTICATE PLAIN';
  le('Relayed AUTHENTICATE PLAIN: Mailward µs/op vs nginx + auth_http', m('login', P, 'Mailward relayed', 'us'), m('login', P, 'nginx + auth_http relayed', 'us'), 0.8,
    `${num(m('login', P, 'Mailward relayed', 'us'))} vs ${num(m('login', P, 'nginx + auth_http relayed', 'us'))} µs`);
  // Not a goal: where Node itself stands against the same peer (bench/login-floor.ts).
  const fl = m('login', P, 'Node floor relayed', 'us');
  const ng = m('login', P, 'nginx + auth_http relayed', 'us');
  out.push({ goal: 'Relayed AUTHENTICATE PLAIN: the Node floor (a bare Node proxy) vs nginx + auth_http', measured: `${num(fl)} vs ${num(ng)} µs`, ratio: fl / ng, target: 'reported', met: null });
  le('Auth-only AUTHENTICATE PLAIN: Mailward vs Dovecot pre-auth (imap-login + auth)', m('login', P, 'Mailward auth-only', 'us'), m('login', P, 'Dovecot pre-auth', 'us'), 1,
    `${num(m('login', P, 'Mailward auth-only', 'us'))} vs ${num(m('login', P, 'Dovecot pre-auth', 'us'))} µs`);
  for (const row of TLS_ROWS.slice(0, 2)) {
    const mw = m('tls', row, 'Mailward', 'us');
    le(`${row}: Mailward vs openssl s_server`, mw, m('tls', row, 'openssl s_server', 'us'), 1.15, `${num(mw)} vs ${num(m('tls', row, 'openssl s_server', 'us'))} µs`);
    le(`${row}: Mailward vs nginx`, mw, m('tls', row, 'nginx', 'us'), 1, `${num(mw)} vs ${num(m('tls', row, 'nginx', 'us'))} µs`);
  }
  const res = TLS_ROWS[2] as string;
  le('Resumed handshake: Mailward vs nginx', m('tls', res, 'Mailward', 'us'), m('tls', res, 'nginx', 'us'), 1, `${num(m('tls', res, 'Mailward', 'us'))} vs ${num(m('tls', res, 'nginx', 'us'))} µs`);
  for (const row of RELAY_ROWS) {
    ge(`Relay MB/s, ${row}: Mailward vs nginx with 64 KiB buffers`, m('relay', row, 'Mailward', 'mbps'), m('relay', row, 'nginx, 64 KiB buffers', 'mbps'), 1,
      `${num(m('relay', row, 'Mailward', 'mbps'))} vs ${num(m('relay', row, 'nginx, 64 KiB buffers', 'mbps'))} MB/s`);
  }
  for (const row of MEMORY_ROWS) {
    const mw = m('memory', row, 'Mailward', 'kib');
    const ng = m('memory', row, 'nginx', 'kib');
    out.push({ goal: `Memory per idle relayed connection, ${row}: Mailward ≤ nginx + 16 KiB`, measured: `${num(mw)} vs ${num(ng)} + 16 KiB`, ratio: mw / (ng + 16), target: '≤ 1', met: Number.isFinite(mw) && Number.isFinite(ng) ? mw <= ng + 16 : null });
  }
  const lv = (LATENCY_VARIANTS[0] as { label: string }).label;
  le('p99 of a legitimate login under a brute-force flood vs idle (defaults)', m('latency', lv, 'attack', 'p99'), m('latency', lv, 'idle', 'p99'), 2,
    `${num(m('latency', lv, 'attack', 'p99'))} vs ${num(m('latency', lv, 'idle', 'p99'))} ms`);
  const s1 = m('scaling', SCALING_ROWS[0] as string, 'x', 'rate');
  const s2 = m('scaling', SCALING_ROWS[1] as string, 'x', 'rate');
  out.push({ goal: 'Login rate, 2 cores vs 1 (multi-core mode)', measured: `${num(s2)} vs ${num(s1)} logins/s`, ratio: s2 / s1, target: 'reported', met: null });
  return out;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function esc(s: string): string { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }

/** Simple horizontal bars, one panel per unit, each scaled to its own largest value. */
export function svgPlot(r: Results): string {
  const panels: { title: string; groups: { label: string; bars: { name: string; v: number }[] }[] }[] = [
    { title: 'Logins per second (relayed and auth-only, one server core)', groups: LOGIN_ROWS.map((row) => ({ label: row, bars: LOGIN_COLS.map((c) => ({ name: c, v: r.get('login', row, c, 'rate').median })) })) },
    { title: 'TLS handshakes per second (one server core)', groups: TLS_ROWS.map((row) => ({ label: row, bars: TLS_COLS.map((c) => ({ name: c, v: r.get('tls', row, c, 'rate').median })) })) },
    { title: 'Relay of a large FETCH, MB/s', groups: RELAY_ROWS.map((row) => ({ label: row, bars: RELAY_COLS.map((c) => ({ name: c, v: r.get('relay', row, c, 'mbps').median })) })) },
  ];
  const colors = ['#2b6cb0', '#c05621', '#2f855a', '#6b46c1'];
  const W = 900; const labelW = 300; const barH = 14; const gap = 4; const groupGap = 12;
  let y = 20;
  const parts: string[] = [];
  for (const p of panels) {
    const max = Math.max(1, ...p.groups.flatMap((g) => g.bars.map((b) => (Number.isFinite(b.v) ? b.v : 0))));
    parts.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(p.title)}</text>`);
    y += 12;
    for (const g of p.groups) {
      parts.push(`<text x="10" y="${y + barH}" font-size="12">${esc(g.label)}</text>`);
      g.bars.forEach((b, i) => {
        const v = Number.isFinite(b.v) ? b.v : 0;
        const w = Math.max(1, ((W - labelW - 160) * v) / max);
        parts.push(`<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[i % colors.length]}"/>`);
        parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 3}" font-size="11">${esc(b.name)}: ${Number.isFinite(b.v) ? num(b.v) : 'n/a'}</text>`);
        y += barH + gap;
      });
      y += groupGap;
    }
    y += 16;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

export async function renderReport(r: Results, o: { svgName?: string } = {}): Promise<{ markdown: string; svg: string }> {
  const g = (s: string, row: string, c: string, m: string, d?: number): string => fmt(r.get(s, row, c, m), d);
  const gen = (s: string): string => { const x = r.generator(s); return Number.isFinite(x.median) ? `${Math.round(x.max * 100)} %` : '—'; };
  const sc = r.scale;
  const md: string[] = [];
  md.push('# Benchmarks: Mailward, Dovecot, nginx mail proxy, openssl s_server', '');
  md.push('Written by `npm run bench` (bench/run.ts; how it works: bench/README.md). Do not edit by hand: the',
    'work log at the end comes from bench/worklog.md.', '');
  md.push(`Machine: ${r.meta.cpu ?? '?'}, ${r.meta.cores ?? '?'} cores, Linux ${r.meta.kernel ?? '?'}; Node ${r.meta.node ?? '?'}, Dovecot ${r.meta.dovecot ?? '?'}, nginx ${r.meta.nginx ?? '?'}, ${r.meta.openssl ?? '?'}; run ${r.meta.date ?? '?'}.`, '');
  md.push(`Scale: ${sc.rounds} interleaved rounds, ${sc.durationMs} ms per measurement after ${sc.warmupMs} ms warm-up, ${sc.concurrency} concurrent clients (TLS against s_server: 1, it serves one connection at a time). ` +
    'Generator on CPU 0, each server on CPU 1 (taskset). Figures are medians with min–max over the rounds. µs/op is the server\'s CPU time ' +
    '(utime + stime of its whole process tree, /proc/<pid>/stat) per operation: capacity per core, valid even where the rate is limited by the client.', '');
  md.push('## Goals', '');
  md.push(table(['goal', 'measured (medians)', 'ratio', 'target', 'met'], goals(r).map((x) => [x.goal, x.measured, num(x.ratio, 2), x.target, x.met === null ? '—' : x.met ? 'yes' : '**no**'])), '');
  if (o.svgName) md.push(`![rates](${o.svgName})`, '');
  md.push('## Logins: server CPU per login (µs/op)', '');
  md.push('Each login is a new TCP connection: greeting, login, result, close. *Relayed* includes logging in to the backend (Dovecot, as a master user for Mailward, with the user\'s password for nginx); nginx\'s figure adds its auth_http endpoint (a tiny Node HTTP server). *Node floor* is the least a Node proxy can do for the same relayed login: a bare `net.Server` of the same Node that greets, checks the password against a table, logs in to the same Dovecot as the same master user in one write and pipes (bench/login-floor.ts; IMAP LOGIN and AUTHENTICATE PLAIN only): what Mailward spends above it is its own, what it spends above nginx is Node\'s. *Auth-only* is Mailward with no backend for the domain (measured to its authentication result, B2\'s temporary error); *Dovecot pre-auth* counts its imap-login (pop3-login) and auth processes only. nginx\'s mail module has no SCRAM. Passwords are stored in clear by every server, so no hash cost enters.', '');
  md.push(table(['operation', ...LOGIN_COLS], LOGIN_ROWS.map((row) => [row, ...LOGIN_COLS.map((c) => g('login', row, c, 'us'))])), '');
  md.push('Rates (logins/s):', '');
  md.push(table(['operation', ...LOGIN_COLS], LOGIN_ROWS.map((row) => [row, ...LOGIN_COLS.map((c) => g('login', row, c, 'rate', 0))])), '');
  md.push(`Generator load (highest, share of its core): ${gen('login')}.`, '');
  md.push('## TLS handshakes: server CPU per handshake (µs)', '');
  md.push('TLS 1.3, X25519, the client\'s default cipher order; a connection is closed once its handshake is done. Resumed: each connection presents a ticket an earlier one received, and leaves at the end of its handshake too (whether the server sends a fresh ticket or not). IMAP servers on their implicit-TLS port (their greeting is not read). *Node tls.Server* is the floor for Mailward: a bare `tls.createServer` of the same Node with its defaults and the same certificate, greeting once the handshake is done (bench/tls-floor.ts).', '');
  md.push(table(['handshake', ...TLS_COLS], TLS_ROWS.map((row) => [row, ...TLS_COLS.map((c) => g('tls', row, c, 'us'))])), '');
  md.push('Rates (handshakes/s):', '');
  md.push(table(['handshake', ...TLS_COLS], TLS_ROWS.map((row) => [row, ...TLS_COLS.map((c) => g('tls', row, c, 'rate', 0))])), '');
  md.push(`Generator load: ${gen('tls')}.`, '');
  md.push(`## Relay throughput: FETCH of a ${Math.round(sc.fetchBytes / 1024 / 1024 * 10) / 10} MiB message`, '');
  md.push('One logged-in connection fetches the message again and again. The backend Dovecot runs on the generator\'s CPU while a proxy is measured (Dovecot direct: on the server CPU). "TLS to the client": the proxy decrypts nothing from the backend (clear on loopback) and encrypts to the client.', '');
  md.push(table(['link', ...RELAY_COLS], RELAY_ROWS.map((row) => [row, ...RELAY_COLS.map((c) => g('relay', row, c, 'mbps'))])), '');
  md.push('Server CPU per MB relayed (µs/MB):', '');
  md.push(table(['link', ...RELAY_COLS], RELAY_ROWS.map((row) => [row, ...RELAY_COLS.map((c) => g('relay', row, c, 'usPerMB'))])), '');
  md.push(`Generator load: ${gen('relay')}.`, '');
  md.push(`## Memory per idle relayed connection (${sc.idleConnections} connections)`, '');
  md.push('PSS of the proxy\'s process tree (/proc/<pid>/smaps_rollup) after the connections logged in and went idle, minus before, divided by their number. Backend: a stub IMAP server (5,000 Dovecot mail processes would measure Dovecot).', '');
  md.push(table(['link', 'nginx (KiB)', 'Mailward (KiB)'], MEMORY_ROWS.map((row) => [row, g('memory', row, 'nginx', 'kib'), g('memory', row, 'Mailward', 'kib')])), '');
  md.push('## Latency of a legitimate login under a brute-force flood', '');
  md.push(`One client logs in (AUTHENTICATE PLAIN, relayed) one login after another; then the same while ${sc.attackers} clients send wrong passwords for another account as fast as Mailward answers, each on a new connection (that account is locked out after LoginFailureLimit failures; the attempts go on). First with Mailward's defaults, where each failure is answered after LoginFailureDelay (2 s, on a timer); then with LoginFailureDelay 0s, every guess answered at once, which shows what the flood itself costs the one core.`, '');
  md.push(table(['', ...LATENCY_VARIANTS.map((v) => v.label)], [
    ['p99 idle (ms)', ...LATENCY_VARIANTS.map((v) => g('latency', v.label, 'idle', 'p99'))],
    ['p99 under attack (ms)', ...LATENCY_VARIANTS.map((v) => g('latency', v.label, 'attack', 'p99'))],
    ['attack rate (attempts/s)', ...LATENCY_VARIANTS.map((v) => g('latency', v.label, 'rate', 'rate', 0))],
  ]), '');
  md.push('## Multi-core mode: login rate from 1 to 2 cores', '');
  md.push('`mailward start` as one process, then with `--workers 2` (the multi-core mode: a primary and two workers sharing the listening sockets and the lock-out counters), AUTHENTICATE PLAIN auth-only. With two workers the generator has no core of its own: it shares both with the server, so the 2-core rate is a lower bound (see its load).', '');
  md.push(table(['', 'logins/s', 'µs/op'], SCALING_ROWS.map((row) => [row, g('scaling', row, 'x', 'rate', 0), g('scaling', row, 'x', 'us')])), '');
  md.push(`Generator load: ${gen('scaling')}.`, '');
  if (r.failures.length) md.push('## Failed measurements', '', ...r.failures.map((f) => `- ${f}`), '');
  const worklog = await readFile(join(ROOT, 'bench/worklog.md'), 'utf8').catch(() => '');
  if (worklog) md.push(worklog.trim(), '');
  return { markdown: md.join('\n'), svg: svgPlot(r) };
}
