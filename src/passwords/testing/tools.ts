/**
 * Runs the independent tools that make the known-answer vectors (openssl, mkpasswd, htpasswd,
 * doveadm, gsasl). A missing tool fails the test with the Debian package to install: the vectors
 * must come from outside our code, so there is no fallback. Not used outside tests.
 */
import { execFile } from 'node:child_process';

/** Debian package of each tool (the lead adds them to .ci/run). */
export const TOOL_PACKAGES = {
  openssl: 'openssl',
  mkpasswd: 'whois',
  htpasswd: 'apache2-utils',
  doveadm: 'dovecot-core',
  gsasl: 'gsasl',
} as const;

export type Tool = keyof typeof TOOL_PACKAGES;

export interface ToolRun { stdout: string; stderr: string; code: number }

/** Runs `tool args...`; resolves with its output and exit code (non-zero is not an error here). */
export function runTool(tool: Tool, args: readonly string[], input?: string): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = execFile(tool, args, { timeout: 20_000, maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: 'C.UTF-8' } }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${tool} is not installed: apt-get install -y ${TOOL_PACKAGES[tool]}`));
        return;
      }
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** Runs a tool that must succeed and returns its trimmed standard output. */
export async function toolOutput(tool: Tool, args: readonly string[], input?: string): Promise<string> {
  const r = await runTool(tool, args, input);
  if (r.code !== 0) throw new Error(`${tool} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
