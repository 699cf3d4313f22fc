/**
 * Structured logging: one JSON record per line, each with its module tag, an event name
 * (`auth.success`, `tls.error`...) and fields. Levels are set per module, as CommuniGate Pro's
 * Log settings are. Secrets never reach a sink: fields whose names say they carry a secret are
 * replaced, and any value wrapped in `Secret` prints as `[redacted]` wherever it goes.
 */

export const LOG_MODULES = [
  'SYSTEM', 'STORE', 'DIRECTORY', 'AUTH', 'SASL', 'EXTAUTH', 'OSAUTH', 'TLS', 'LISTENER',
  'IMAP', 'POP', 'SMTP', 'PWD', 'HTTP', 'BACKEND', 'CLI',
] as const;
export type LogModule = (typeof LOG_MODULES)[number];

/** CommuniGate Pro's log levels, from quietest to noisiest. */
export const LOG_LEVELS = ['none', 'failure', 'major', 'problem', 'info', 'low', 'all'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = { none: 0, failure: 1, major: 2, problem: 3, info: 4, low: 5, all: 6 };
const levelRank = (l: LogLevel): number => LEVEL_RANK[l] ?? 0;

/** A value that must never be printed. `String(secret)` and `JSON.stringify` both redact it. */
export class Secret<T = string> {
  readonly #value: T;
  constructor(value: T) { this.#value = value; }
  reveal(): T { return this.#value; }
  toString(): string { return '[redacted]'; }
  toJSON(): string { return '[redacted]'; }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return 'Secret([redacted])'; }
}

/**
 * Field names that carry secrets. Matching is by name because a password is just a string: we
 * cannot recognise it by its value. Protocol code logs SASL payloads under `payload`/`response`.
 */
const SECRET_FIELD = /pass|secret|token|credential|payload|response|challenge|sasl|authdata|cookie|privatekey|^key$|nthash|storedkey|serverkey|salt/i;

export const REDACTED = '[redacted]';

export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Secret) return REDACTED;
  if (depth > 8) return '[deep]';
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : redact(v, depth + 1);
    return out;
  }
  return value;
}

export interface LogRecord {
  ts: string;
  level: LogLevel;
  module: LogModule;
  event: string;
  [field: string]: unknown;
}

export type LogSink = (record: LogRecord) => void;

const stderrSink: LogSink = (r) => { process.stderr.write(JSON.stringify(r) + '\n'); };

interface LogConfig { levels: Partial<Record<LogModule, LogLevel>>; defaultLevel: LogLevel; sink: LogSink }
const config: LogConfig = { levels: {}, defaultLevel: 'major', sink: stderrSink };

/** Each module's level as a rank, recomputed when the configuration changes: the check every
 *  log call makes first (most calls on hot paths are below the level) is one array read. */
const MODULE_INDEX = new Map<LogModule, number>(LOG_MODULES.map((m, i) => [m, i]));
const moduleRanks: number[] = [];

function recomputeRanks(): void {
  for (const m of LOG_MODULES) moduleRanks[MODULE_INDEX.get(m) as number] = levelRank(config.levels[m] ?? config.defaultLevel);
}
recomputeRanks();

export function configureLogging(opts: { levels?: Partial<Record<LogModule, LogLevel>>; defaultLevel?: LogLevel; sink?: LogSink }): void {
  if (opts.levels) config.levels = { ...opts.levels };
  if (opts.defaultLevel) config.defaultLevel = opts.defaultLevel;
  if (opts.sink) config.sink = opts.sink;
  recomputeRanks();
}

/** One module's level, leaving the others as they are (E1's and T2's own Log settings). */
export function setModuleLevel(module: LogModule, level: LogLevel): void {
  config.levels = { ...config.levels, [module]: level };
  recomputeRanks();
}

export function moduleLevel(module: LogModule): LogLevel {
  return config.levels[module] ?? config.defaultLevel;
}

export interface Logger {
  readonly module: LogModule;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
  failure(event: string, fields?: Record<string, unknown>): void;
  major(event: string, fields?: Record<string, unknown>): void;
  problem(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  low(event: string, fields?: Record<string, unknown>): void;
  /** A logger whose records all carry these fields (session id, protocol, remote address). */
  child(fields: Record<string, unknown>): Logger;
}

/** Loggers are made per connection (with its session id), so one is a single small object whose
 *  methods live on the prototype, not a set of fresh closures. */
class ModuleLogger implements Logger {
  readonly #index: number;
  constructor(readonly module: LogModule, readonly base: Record<string, unknown> | null) {
    this.#index = MODULE_INDEX.get(module) ?? 0;
  }

  enabled(level: LogLevel): boolean {
    return level !== 'none' && levelRank(level) <= (moduleRanks[this.#index] as number);
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return; // cheap exit before any allocation on hot paths
    const rec = redact(this.base ? { ...this.base, ...fields } : { ...fields }) as Record<string, unknown>;
    config.sink({ ts: new Date().toISOString(), level, module: this.module, event, ...rec });
  }

  failure(e: string, f?: Record<string, unknown>): void { this.log('failure', e, f); }
  major(e: string, f?: Record<string, unknown>): void { this.log('major', e, f); }
  problem(e: string, f?: Record<string, unknown>): void { this.log('problem', e, f); }
  info(e: string, f?: Record<string, unknown>): void { this.log('info', e, f); }
  low(e: string, f?: Record<string, unknown>): void { this.log('low', e, f); }
  child(fields: Record<string, unknown>): Logger { return new ModuleLogger(this.module, { ...this.base, ...fields }); }
}

export function logger(module: LogModule, base?: Record<string, unknown>): Logger {
  return new ModuleLogger(module, base && Object.keys(base).length > 0 ? base : null);
}
