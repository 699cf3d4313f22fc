/**
 * The floor of an idle TLS connection's memory in Node: PSS per connection of the bare Node TLS
 * server (bench/tls-floor.ts) and of a bare `net` server, holding N idle connections opened with
 * the benchmark's client (TLS 1.3, ECDSA certificate). Against the memory section's figures it
 * says how much of Mailward's TLS cost per connection is Node's TLSSocket and OpenSSL's SSL.
 *   node dist/bench/tls-floor-memory.js [N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Target } from './lib/client.js';
import { idleMemoryWith } from './lib/idle.js';
import { DOMAINS } from './lib/mailward.js';
import { pinTree } from './lib/proc.js';
import { GENERATOR_CPU, makeCert, SERVER_CPU, startProc, waitForTcp } from './lib/servers.js';
import { startTlsFloor } from './lib/tls-floor.js';
import { freePort } from '../src/backends/test/dovecot.js';

/** Bytes per idle connection: the memory section's measurement, with only the greeting read. */
async function perConnection(target: Target, pid: number, n: number): Promise<number> {
  return (await idleMemoryWith(target, async (c) => { await c.line(); }, n, [pid])).bytesPerConn;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  pinTree(process.pid, GENERATOR_CPU);
  const work = await mkdtemp(join(tmpdir(), 'mw-floor-mem-'));
  try {
    const cert = await makeCert(work, DOMAINS.ec, 'ec');
    for (let round = 1; round <= 3; round++) {
      const tls = await startTlsFloor(cert);
      const t = await perConnection({ host: '127.0.0.1', port: tls.port, tls: { servername: cert.name } }, tls.proc.pid, n);
      await tls.proc.stop();
      const port = await freePort();
      const plain = startProc('node-net', [process.execPath, '-e', `require('net').createServer((s)=>{s.on('error',()=>s.destroy());s.write('* OK floor\\r\\n')}).listen(${port},'127.0.0.1')`], { cpus: SERVER_CPU });
      await waitForTcp(port, plain);
      const p = await perConnection({ host: '127.0.0.1', port }, plain.pid, n);
      await plain.stop();
      process.stdout.write(`round ${round}: Node TLS ${(t / 1024).toFixed(1)} KiB, Node plain ${(p / 1024).toFixed(1)} KiB per idle connection (${n})\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
