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

const levelRank = (l: LogLevel): number => LOG_LEVELS.indexOf(l);

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

export function configureLogging(opts: { levels?: Partial<Record<LogModule, LogLevel>>; defaultLevel?: LogLevel; sink?: LogSink }): void {
  if (opts.levels) config.levels = { ...opts.levels };
  if (opts.defaultLevel) config.defaultLevel = opts.defaultLevel;
  if (opts.sink) config.sink = opts.sink;
}

/** One module's level, leaving the others as they are (E1's and T2's own Log settings). */
export function setModuleLevel(module: LogModule, level: LogLevel): void {
  config.levels = { ...config.levels, [module]: level };
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

export function logger(module: LogModule, base: Record<string, unknown> = {}): Logger {
  const enabled = (level: LogLevel): boolean => level !== 'none' && levelRank(level) <= levelRank(moduleLevel(module));
  const log = (level: LogLevel, event: string, fields?: Record<string, unknown>): void => {
    if (!enabled(level)) return; // cheap exit before any allocation on hot paths
    const rec = redact({ ...base, ...fields }) as Record<string, unknown>;
    config.sink({ ts: new Date().toISOString(), level, module, event, ...rec });
  };
  return {
    module,
    enabled,
    log,
    failure: (e, f) => log('failure', e, f),
    major: (e, f) => log('major', e, f),
    problem: (e, f) => log('problem', e, f),
    info: (e, f) => log('info', e, f),
    low: (e, f) => log('low', e, f),
    child: (fields) => logger(module, { ...base, ...fields }),
  };
}
