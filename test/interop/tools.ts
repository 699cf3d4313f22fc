/**
 * Running independent clients against the stack: a private /etc/hosts for them (so that they
 * connect to `example.com` and send it as SNI, DIGEST-MD5 digest-uri and certificate name, as a
 * real client would), a failing check per missing tool that names its Debian package, a
 * conversation helper for clients that read commands from stdin, and a log capture that shows
 * what the server saw (mechanism, TLS version) for each run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { configureLogging } from '../../src/core/log.js';

/** One client run: tools answer on loopback in well under a second; 20 s means a hang. */
export const CLIENT_TIMEOUT_MS = 20_000;

/** Fails the test (never skips) when `path` (absolute) or `tool` (on PATH) is missing. */
export function requireTool(tool: string, debianPackage: string): void {
  const found = tool.startsWith('/')
    ? spawnSync('test', ['-x', tool]).status === 0
    : spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  assert.ok(found, `${tool} is missing: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
}

/** Fails (naming the package) when no file matches the shell glob `pattern`. */
export function requireFiles(pattern: string, debianPackage: string): void {
  const r = spawnSync('sh', ['-c', `ls ${pattern} 2>/dev/null | head -n 1`], { encoding: 'utf8' });
  assert.ok(r.stdout.trim() !== '', `${pattern} is missing: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
}

/**
 * A hosts file for the clients' private mount namespace: every test name points at loopback.
 * example.com comes first on its line and has a line of its own, so the reverse lookup of
 * 127.0.0.1 (Cyrus SASL builds the DIGEST-MD5 digest-uri from it) gives example.com.
 */
export function writeHostsFile(path: string, names: string[]): void {
  writeFileSync(path, `${names.map((n) => `127.0.0.1 ${n}`).join('\n')}\n127.0.0.1 localhost\n`);
}

/** The argv that runs `cmd args` in a private mount namespace with `hostsFile` as /etc/hosts
 *  (unshare, from util-linux; the bind mount needs root, which the interop tests have). */
export function inHosts(hostsFile: string, cmd: string, args: string[]): [string, string[]] {
  return ['unshare', ['--mount', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, cmd, ...args]];
}

export function requireNamespaceTools(hostsFile: string): void {
  requireTool('unshare', 'util-linux');
  requireTool('mount', 'mount');
  const [cmd, args] = inHosts(hostsFile, 'getent', ['hosts', 'example.com']);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `a private /etc/hosts for the clients needs root and mount namespaces (unshare --mount): ${r.stderr}`);
}

export interface RunResult { code: number | null; signal: string | null; out: string; ms: number }

export interface Step {
  /** Wait until the output (stdout and stderr together) matches this, after the previous step. */
  waitFor: RegExp;
  /** Then write this to the client's stdin (nothing when absent). */
  send?: string;
  /** Wait this long before writing (for a client that reads one line per wake-up). */
  delayMs?: number;
}

/**
 * Runs a client; with `steps`, talks to it through stdin: each step waits for its pattern in the
 * output seen since the previous step, then writes its text. stdin is closed after the last step
 * (or at once without steps). Never rejects: a time-out is a result with signal SIGKILL.
 */
export function runClient(cmd: string, args: string[], opts: { steps?: Step[]; env?: Record<string, string>; timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let from = 0;
    const steps = [...(opts.steps ?? [])];
    let waiting = false;
    const advance = (): void => {
      while (steps.length > 0 && !waiting) {
        const s = steps[0]!;
        const m = s.waitFor.exec(out.slice(from));
        if (!m) return;
        from += m.index + m[0].length;
        steps.shift();
        if (s.delayMs) {
          waiting = true;
          setTimeout(() => { waiting = false; if (s.send !== undefined) child.stdin.write(s.send); advance(); }, s.delayMs);
          return;
        }
        if (s.send !== undefined) child.stdin.write(s.send);
      }
      if (steps.length === 0 && !waiting) child.stdin.end();
    };
    const onData = (d: Buffer): void => { out += d.toString('utf8'); if (steps.length) advance(); };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdin.on('error', () => undefined); // a client that exits without reading stdin
    if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
    else if (steps.length === 0) child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? CLIENT_TIMEOUT_MS);
    child.on('error', (e) => { out += `\n[spawn error: ${e.message}]`; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, ms: Date.now() - started });
    });
  });
}

export interface LogRecord { ts: string; level: string; module: string; event: string; [k: string]: unknown }

/** Records the server's log in memory (the stack logs at info for AUTH and TLS), and prints
 *  failures, which would mean a bug, to stderr. Bounded: an interop file logs a few thousand. */
export class LogCapture {
  static readonly MAX_RECORDS = 50_000;
  readonly records: LogRecord[] = [];

  install(): void {
    configureLogging({
      sink: (r) => {
        const rec = r as LogRecord;
        if (this.records.length < LogCapture.MAX_RECORDS) this.records.push(rec);
        if (rec.level === 'failure') process.stderr.write(`${JSON.stringify(rec)}\n`);
      },
    });
  }

  mark(): number { return this.records.length; }

  since(mark: number, event?: string): LogRecord[] {
    return this.records.slice(mark).filter((r) => event === undefined || r.event === event);
  }
}
