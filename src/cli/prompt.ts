/**
 * Passwords reach the command through standard input, never through arguments (which `ps` and
 * shell history show). The first line is the password; a terminal gets no echo suppression here,
 * so scripts should pipe it: `printf '%s\n' "$PW" | mailward account set-password a@b`.
 */
import { MailwardError } from '../core/errors.js';

/** A password longer than this is not a password someone typed; refusing it bounds memory. */
const MAX_PASSWORD_INPUT = 4096;

export async function readPasswordFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    const b = c as Buffer;
    size += b.length;
    if (size > MAX_PASSWORD_INPUT) throw new MailwardError('cli.usage', 'password input too long');
    chunks.push(b);
    if (b.includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new MailwardError('cli.usage', 'no password on standard input (an empty password never logs in, P4)');
  return line;
}
