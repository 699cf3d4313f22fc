/**
 * The one catalogue of error codes. Exceptions are for bugs and broken infrastructure; expected
 * failures (a wrong password, an unknown account) are values. Each code is stable: scripts and
 * logs may match on it, so a code is never renamed, only added.
 */
export const ERROR_CODES = {
  'format.syntax': 'malformed text in the CommuniGate data format',
  'format.limit': 'input exceeds a named limit of the data format',
  'settings.invalid': 'a setting has a value that fails its check',
  'settings.unknown': 'a setting name that the schema does not know',
  'store.corrupt': 'a settings file exists but cannot be parsed',
  'store.conflict': 'the object changed since it was read (optimistic concurrency)',
  'store.exists': 'an object with that name already exists',
  'store.notFound': 'no such object',
  'store.io': 'the store could not read or write',
  'store.locked': 'another Mailward process holds the data directory',
  'name.invalid': 'an object name that is not allowed (path separators, dot-dot, control characters)',
  'directory.notFound': 'no such domain or account',
  'directory.exists': 'a domain or account of that name already exists',
  'directory.refused': 'the operation is not allowed on this object',
  'cli.usage': 'the command line could not be understood',
  'internal': 'a bug: something that should not happen did',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MailwardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.name = 'MailwardError';
    this.code = code;
  }
}

export function isMailwardError(e: unknown, code?: ErrorCode): e is MailwardError {
  return e instanceof MailwardError && (code === undefined || e.code === code);
}
