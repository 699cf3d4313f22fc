/** Starts bench/login-floor.ts (the bare Node IMAP login proxy) pinned to the server CPU. */
import { join } from 'node:path';
import { freePort } from '../../src/backends/test/dovecot.js';
import { ROOT, SERVER_CPU, startProc, waitForGreeting, type BenchUser, type Proc } from './servers.js';

export async function startLoginFloor(usersFile: string, backends: Record<string, number>, master: BenchUser): Promise<{ proc: Proc; port: number }> {
  const port = await freePort();
  const proc = startProc('node-login-floor', [process.execPath, join(ROOT, 'dist/bench/login-floor.js'), String(port), usersFile, JSON.stringify(backends), master.user, master.password], { cpus: SERVER_CPU });
  await waitForGreeting(port, /^\* OK/, proc);
  return { proc, port };
}
