/**
 * Test helpers for the TLS layer: running OpenSSL (and other peers) without blocking the event
 * loop - the server under test runs in the same process - and failing, never skipping, when a
 * tool is missing, with the Debian package that provides it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

/** Fails the test (never skips) when `tool` is not on PATH, naming the Debian package. */
export function requireTool(tool: string, debianPackage: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  assert.ok(r.status === 0, `${tool} is missing: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
}

export interface RunResult { code: number; stdout: string; stderr: string; out: string }

/** Runs a command asynchronously with a time limit; resolves with its exit code and output. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: opts.timeoutMs ?? 10_000, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr, out: `${stdout}\n${stderr}` });
    });
    // A tool that exits without reading stdin closes the pipe: EPIPE is expected, not a failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

export function openssl(args: string[], opts: { input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return run('openssl', args, opts);
}

/**
 * `openssl s_client` against host:port. `-ign_eof` keeps it reading until the server closes, so
 * a TLS 1.3 ticket (sent after the handshake) reaches -sess_out (INTEROP.md).
 */
export function sClient(host: string, port: number, args: string[], timeoutMs = 10_000): Promise<RunResult> {
  return openssl(['s_client', '-connect', `${host}:${port}`, '-ign_eof', ...args], { timeoutMs });
}

/** The subject line s_client prints for the server certificate (`subject=CN = a.test, ...`). */
export function peerSubject(out: string): string | undefined {
  return /^subject=(.*)$/m.exec(out)?.[1]?.trim();
}

/** `New` or `Reused`, from s_client's `New, TLSv1.3, Cipher is ...` line. */
export function sessionState(out: string): 'New' | 'Reused' | undefined {
  const m = /^(New|Reused), /m.exec(out);
  return m ? (m[1] as 'New' | 'Reused') : undefined;
}

export function tempDir(prefix: string): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `mailward-${prefix}-`));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
