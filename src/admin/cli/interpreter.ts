/**
 * The CLI interpreter (W3): a command line in, a CommuniGate-style reply out. Shared by the PWD
 * session, the HTTP `/CLI/` form and the tests; the JSON API shares everything below the line
 * parser (the table, the argument checks, runCommand).
 *
 * Reply codes, as CommuniGate Pro's CLI uses them:
 *  - 200 OK (no data), or data (sent after `200 data follow`, or inline after `201`);
 *  - 500 the line is not a command: unknown name, or not parseable (counts as a bad command);
 *  - 501 the command failed: wrong arguments, or the operation was refused or went wrong (the
 *    message says why; for a delegated domain administrator, unknown and forbidden read the same,
 *    as the AdminService decides).
 */
import { MailwardError, isMailwardError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { CgValue } from '../../settings/format/types.js';
import { actorName } from '../service.js';
import { checkArgs, findCommand, type Args, type CommandContext, type CommandDef, type CommandResult } from './commands.js';
import { parseCommandLine, type CliToken } from './parser.js';

const log = logger('CLI');

/** Longest error message sent back: one reply line; longer messages are cut. */
export const CLI_MAX_MESSAGE = 512;

export type CliReply =
  | { ok: true; data: CgValue | undefined }
  | { ok: false; code: 500 | 501; message: string; bad: boolean };

/** A message fit for a one-line reply: no control characters (a CR or LF would let a value end
 *  the reply and forge the next one), bounded length. */
export function replyText(message: string): string {
  const flat = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  return flat.length > CLI_MAX_MESSAGE ? `${flat.slice(0, CLI_MAX_MESSAGE - 3)}...` : flat;
}

function isKeyword(t: CliToken | undefined, words: readonly string[]): boolean {
  return t !== undefined && t.atom && typeof t.value === 'string' && words.some((w) => w.toLowerCase() === (t.value as string).toLowerCase());
}

function fits(def: CommandDef, param: string, t: CliToken): boolean {
  const p = def.params.find((x) => x.name === param);
  const v = t.value;
  switch (p?.type) {
    case 'name': case 'string': case 'secret': return typeof v === 'string';
    case 'dictionary': return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === null;
    case 'array': return Array.isArray(v);
    default: return true;
  }
}

/** Matches the arguments of a command line against the command's grammar; throws cli.usage. */
export function argsFromTokens(def: CommandDef, tokens: readonly CliToken[]): Args {
  const args = Object.create(null) as Args;
  let i = 0;
  const fail = (why: string): never => { throw new MailwardError('cli.usage', `${def.name}: ${why}. Usage: ${def.syntax}`); };
  for (const s of def.slots) {
    const t = tokens[i];
    switch (s.kind) {
      case 'param':
        if (t === undefined) { if (s.optional) continue; fail(`missing ${s.param}`); }
        if (s.optional && !fits(def, s.param, t as CliToken)) continue;
        args[s.param] = (t as CliToken).value;
        i++;
        break;
      case 'keyword':
        if (!isKeyword(t, s.words)) fail(`expected the keyword ${s.words[0]}`);
        i++;
        break;
      case 'flag':
        if (isKeyword(t, s.words)) { args[s.param] = true; i++; }
        break;
      case 'ignore':
        while (isKeyword(tokens[i], s.words)) i++;
        break;
      case 'keyed':
        if (!isKeyword(t, s.words)) { if (s.optional) continue; fail(`expected ${s.words[0]} followed by the ${s.param}`); }
        if (tokens[i + 1] === undefined) fail(`missing the ${s.param} after ${s.words[0]}`);
        args[s.param] = (tokens[i + 1] as CliToken).value;
        i += 2;
        break;
    }
  }
  if (i < tokens.length) fail(`unexpected argument ${i + 1}`);
  return args;
}

/** Runs a command with named arguments; the AdminService enforces the rights. Throws
 *  MailwardError for every expected failure. */
export async function runCommand(def: CommandDef, args: Args, ctx: CommandContext): Promise<CommandResult> {
  const reader = checkArgs(def, args);
  return def.run(ctx, reader);
}

export function cliReplyOf(r: CommandResult): CliReply {
  switch (r.kind) {
    case 'none': return { ok: true, data: undefined };
    case 'data': return { ok: true, data: r.value };
    case 'effective': return { ok: true, data: r.values };
    case 'check': return r.ok ? { ok: true, data: undefined } : { ok: false, code: 501, message: r.failure, bad: false };
  }
}

/** The reply for a failure thrown by a command: its message for expected failures, a generic one
 *  for bugs (logged, never shown: a stack or a path is nobody's business on the wire). */
export function failureReply(e: unknown, command: string): CliReply {
  if (isMailwardError(e) && e.code !== 'internal') return { ok: false, code: 501, message: replyText(e.message), bad: false };
  log.failure('cli.error', { command, error: e });
  return { ok: false, code: 501, message: 'internal error (logged)', bad: false };
}

/** Parses and runs one command line. Never throws. */
export async function executeCliLine(line: string, ctx: CommandContext): Promise<CliReply> {
  const parsed = parseCommandLine(line);
  if (!parsed.ok) return { ok: false, code: 500, message: replyText(`syntax error at position ${parsed.at + 1}: ${parsed.reason}`), bad: true };
  const def = findCommand(parsed.command.name);
  if (!def) return { ok: false, code: 500, message: replyText(`unknown command ${parsed.command.name}`), bad: true };
  try {
    const reply = cliReplyOf(await runCommand(def, argsFromTokens(def, parsed.command.args), ctx));
    // Never the arguments: they carry passwords and settings.
    log.info('cli.command', { command: def.name, by: actorName(ctx.actor), ok: reply.ok });
    return reply;
  } catch (e) {
    log.info('cli.command', { command: def.name, by: actorName(ctx.actor), ok: false });
    return failureReply(e, def.name);
  }
}
