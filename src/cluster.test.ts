// Multi-core mode (issue 8): workers share the listening sockets and read the data directory
// without its lock, which the primary keeps (S1: one writer per directory).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from './cluster.js';
import { firstLine, freePort } from './backends/test/dovecot.js';
import { configureLogging } from './core/log.js';
import { initDataDir, openServices } from './main.js';

test('S1, issue 8: cluster mode - two workers answer on one shared IMAP port; the primary holds the data-directory lock', { timeout: 60_000 }, async () => {
  configureLogging({ defaultLevel: 'failure' });
  const dir = await mkdtemp(join(tmpdir(), 'mw-cluster-'));
  try {
    await initDataDir(dir, { mainDomain: 'cluster.test' });
    const port = await freePort();
    const s = await openServices(dir);
    await s.admin.updateServerSettings({ kind: 'local' }, {
      Listeners: { IMAP: [{ Address: '127.0.0.1', Port: String(port), TLS: 'clear' }], POP: [], SMTP: [], HTTPA: [], HTTPU: [], PWD: [] },
      LogLevel: 'failure',
    });
    await s.close();
    const c = await startCluster(dir, { workers: 2 });
    try {
      assert.equal(c.workers(), 2);
      for (let i = 0; i < 6; i++) assert.match((await firstLine(port, 5000)) ?? '', /^\* OK .*Mailward ready/);
      await assert.rejects(openServices(dir), 'a second writer must be refused while the primary runs');
    } finally {
      await c.stop();
    }
    assert.equal(c.workers(), 0);
    // The lock is released at stop.
    await (await openServices(dir)).close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('issue 8: cluster mode refuses a worker count out of range', async () => {
  await assert.rejects(startCluster('/nonexistent', { workers: 0 }), RangeError);
  await assert.rejects(startCluster('/nonexistent', { workers: 65 }), RangeError);
});
