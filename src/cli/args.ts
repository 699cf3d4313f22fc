/**
 * Command-line parsing for `mailward`: a table of commands, each with its usage and options, so
 * `--help` works everywhere and every error says what was expected.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MailwardError } from '../core/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<O extends Options = Options> {
  /** e.g. ['domain', 'create'] */
  path: string[];
  usage: string;
  summary: string;
  options?: O;
  /** Number of positional arguments: [min, max]. */
  args?: [number, number];
}

export const COMMON_OPTIONS = {
  data: { type: 'string', default: './data' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options;

export interface Parsed {
  spec: CommandSpec;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseCommand(argv: string[], specs: CommandSpec[]): Parsed | { help: string } {
  const words: string[] = [];
  for (const a of argv) { if (a.startsWith('-')) break; words.push(a); }
  // The longest command path that the words start with.
  const spec = [...specs].sort((a, b) => b.path.length - a.path.length)
    .find((s) => s.path.every((w, i) => words[i] === w));
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (!spec) {
    // Only a group word (`mailward account`): show that group. Anything else is unknown.
    const group = specs.filter((s) => s.path[0] === words[0]);
    if (words.length === 0) return { help: overview(specs) };
    if (words.length === 1 && group.length > 0) return { help: overview(group) };
    throw new MailwardError('cli.usage', `unknown command: ${words.join(' ')}\n\n${overview(group.length ? group : specs)}`);
  }
  if (wantsHelp) return { help: commandHelp(spec) };
  const rest = argv.slice(spec.path.length);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...spec.options }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new MailwardError('cli.usage', `${(e as Error).message}\n\n${commandHelp(spec)}`);
  }
  const [min, max] = spec.args ?? [0, 0];
  if (parsed.positionals.length < min || parsed.positionals.length > max) {
    throw new MailwardError('cli.usage', `wrong number of arguments\n\n${commandHelp(spec)}`);
  }
  return { spec, values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

export function overview(specs: CommandSpec[]): string {
  const w = Math.max(...specs.map((s) => s.usage.length));
  return ['Usage: mailward <command> [options]   (every command takes --data DIR, default ./data, and --help)', '',
    ...specs.map((s) => `  ${s.usage.padEnd(w)}  ${s.summary}`)].join('\n');
}

export function commandHelp(s: CommandSpec): string {
  const all: Options = { ...s.options, ...COMMON_OPTIONS };
  const opts = Object.entries(all).map(([k, o]) =>
    `  --${k}${o.type === 'string' ? ' VALUE' : ''}${o.multiple ? ' (repeatable)' : ''}${o.default !== undefined && o.type === 'string' ? `  (default ${String(o.default)})` : ''}`);
  return [`Usage: mailward ${s.usage}`, '', s.summary, '', 'Options:', ...opts].join('\n');
}
