/**
 * A real HAProxy (Debian package haproxy) in TCP mode in front of Mailward listeners, sending the
 * PROXY protocol v2 header (`send-proxy-v2`): the load balancer of N4. Each frontend listens on a
 * free loopback port and forwards to one Mailward port. Run in the foreground (`-db`) as a child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstLine, freePort } from '../../src/backends/test/dovecot.js';
import { requireTool } from './tools.js';

/** HAProxy parses its configuration and binds in milliseconds; more means it failed. */
const HAPROXY_START_TIMEOUT_MS = 10_000;

export interface HaproxyInstance {
  /** The frontend port for each name given. */
  port(name: string): number;
  log(): string;
  stop(): Promise<void>;
}

/** A frontend: its name, the Mailward port it forwards to, and optionally the client address
 *  HAProxy puts in the PROXY header instead of the real one (`tcp-request connection set-src`),
 *  so that a test on loopback can present a client from elsewhere (192.0.2.0/24, TEST-NET-1:
 *  a label in a header, never an address anything is sent to). */
export interface HaproxyRoute { name: string; target: number; setSrc?: string }

export async function startHaproxy(routes: HaproxyRoute[]): Promise<HaproxyInstance> {
  requireTool('/usr/sbin/haproxy', 'haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'mw-haproxy-'));
  const ports = new Map<string, number>();
  for (const r of routes) ports.set(r.name, await freePort());
  const conf = [
    'global',
    '  maxconn 100',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    ...routes.flatMap((r) => [
      `frontend fe_${r.name}`,
      `  bind 127.0.0.1:${ports.get(r.name)}`,
      ...(r.setSrc ? [`  tcp-request connection set-src ipv4(${r.setSrc})`] : []),
      `  default_backend be_${r.name}`,
      `backend be_${r.name}`,
      `  server mailward 127.0.0.1:${r.target} send-proxy-v2`,
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), `${conf}\n`);
  const child: ChildProcess = spawn('/usr/sbin/haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { output += d.toString(); });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const stop = async (): Promise<void> => {
    if (!exited) { child.kill('SIGTERM'); await exit; }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready once the first frontend forwards a greeting from Mailward.
  const first = routes[0];
  const until = Date.now() + HAPROXY_START_TIMEOUT_MS;
  while (first) {
    if (exited) { await stop(); throw new Error(`haproxy exited at start:\n${output}`); }
    if (await firstLine(ports.get(first.name)!, 1000)) break;
    if (Date.now() > until) { await stop(); throw new Error(`haproxy did not forward within ${HAPROXY_START_TIMEOUT_MS} ms:\n${output}`); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port: (name) => { const p = ports.get(name); if (p === undefined) throw new Error(`no haproxy frontend ${name}`); return p; },
    log: () => output,
    stop,
  };
}
