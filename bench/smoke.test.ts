/**
 * Keeps the benchmark harness from rotting: the whole of `npm run bench` on a tiny scale
 * (every section, one short round), checked for a figure in every cell the report needs.
 * Needs the peers installed: dovecot-imapd dovecot-pop3d, nginx-light libnginx-mod-mail,
 * openssl, util-linux (taskset). A missing one fails with its package name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench, SECTIONS, SMOKE } from './run.js';
import { goals, LATENCY_VARIANTS, LOGIN_COLS, LOGIN_ROWS, MEMORY_ROWS, RELAY_COLS, RELAY_ROWS, SCALING_ROWS, TLS_COLS, TLS_ROWS } from './lib/report.js';

test('B1, T2, H2: bench harness smoke run - every server, operation and section gives a figure, and the report is written', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mw-bench-smoke-'));
  try {
    const out = join(dir, 'benchmarks.md');
    const r = await runBench({ scale: { ...SMOKE, durationMs: 150, warmupMs: 50, latencyMs: 200 }, sections: SECTIONS, out, svgOut: join(dir, 'benchmarks-rates.svg') });
    assert.deepEqual(r.failures, []);
    const finite = (s: string, row: string, col: string, m: string): void => {
      const v = r.get(s, row, col, m).median;
      // A figure must exist; at this tiny scale it may round to 0 (/proc counts CPU in 10 ms
      // ticks, and a 150 ms round can fall between two), so only its presence is checked here.
      assert.ok(Number.isFinite(v) && v >= 0, `${s} / ${row} / ${col} / ${m} = ${v}`);
    };
    for (const row of LOGIN_ROWS) {
      for (const col of LOGIN_COLS) {
        // nginx has no SCRAM; the Node floor speaks IMAP LOGIN and AUTHENTICATE PLAIN only.
        if (row.includes('SCRAM') && col.startsWith('nginx')) continue;
        if (col.startsWith('Node floor') && (row.includes('SCRAM') || row.startsWith('POP3'))) continue;
        finite('login', row, col, 'us');
      }
    }
    for (const row of TLS_ROWS) for (const col of TLS_COLS) finite('tls', row, col, 'us');
    for (const row of RELAY_ROWS) for (const col of RELAY_COLS) finite('relay', row, col, 'mbps');
    for (const row of MEMORY_ROWS) for (const col of ['nginx', 'Mailward']) assert.ok(Number.isFinite(r.get('memory', row, col, 'kib').median), `memory ${row} ${col}`);
    for (const v of LATENCY_VARIANTS) {
      finite('latency', v.label, 'idle', 'p99');
      finite('latency', v.label, 'attack', 'p99');
      finite('latency', v.label, 'rate', 'rate');
    }
    for (const row of SCALING_ROWS) finite('scaling', row, 'x', 'rate');
    // Every goal is computed from figures that exist (a missing one prints as '—'); its verdict
    // may be undecided here, where a peer's CPU can round to 0 ticks (a ratio over 0).
    for (const g of goals(r)) assert.ok(!g.measured.includes('—'), `${g.goal}: ${g.measured}`);
    const md = await readFile(out, 'utf8');
    assert.match(md, /## Goals/);
    assert.match(md, /IMAP AUTHENTICATE SCRAM-SHA-256/);
    assert.match(await readFile(join(dir, 'benchmarks-rates.svg'), 'utf8'), /^<svg /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
