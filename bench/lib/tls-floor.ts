/** Starts bench/tls-floor.ts (the bare Node TLS server) pinned to the server CPU. */
import { join } from 'node:path';
import { freePort } from '../../src/backends/test/dovecot.js';
import { ROOT, SERVER_CPU, startProc, waitForTcp, type CertPair, type Proc } from './servers.js';

export async function startTlsFloor(cert: CertPair): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = startProc(`node-tls-${cert.name}`, [process.execPath, join(ROOT, 'dist/bench/tls-floor.js'), String(port), cert.keyFile, cert.certFile], { cpus: SERVER_CPU });
  await waitForTcp(port, proc);
  return { proc, port };
}
