import { MailwardError } from '../../core/errors.js';

/**
 * A parse failure of the data format. `line` and `column` are 1-based; columns count Unicode code
 * points, so an editor's cursor lands on the culprit. The message never quotes the input beyond
 * one character: settings files hold password hashes and keys, and error messages reach logs.
 */
export class FormatError extends MailwardError {
  readonly line: number;
  readonly column: number;
  readonly source?: string;
  /** The message without the position prefix. */
  readonly reason: string;

  constructor(code: 'format.syntax' | 'format.limit', reason: string, line: number, column: number, source?: string) {
    super(code, `${source === undefined ? '' : `${source}:`}${line}:${column}: ${reason}`);
    this.name = 'FormatError';
    this.line = line;
    this.column = column;
    if (source !== undefined) this.source = source;
    this.reason = reason;
  }
}

export function isFormatError(e: unknown): e is FormatError {
  return e instanceof FormatError;
}
