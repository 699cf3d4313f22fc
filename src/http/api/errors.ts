/**
 * The API's error codes and HTTP statuses, in one table. The codes are stable: scripts may match
 * on them. Failures of the operations carry the code of the error catalogue (core/errors.ts); the
 * API adds its own for authentication and for requests it cannot take.
 *
 *   400 invalid      settings.invalid, settings.unknown, name.invalid, format.*, cli.usage, api.badRequest
 *   401 auth         auth.required, auth.failed, auth.locked, auth.disabled, auth.secureMethodRequired,
 *                    auth.notClientAddress, auth.tlsRequired
 *   403 forbidden    directory.refused: the AdminService refused an operation on something the caller
 *                    may know about (a delegated domain administrator gets 404 for what it may not see)
 *   404 unknown      directory.notFound, store.notFound, api.unknownCommand
 *   409 conflict     directory.exists, store.exists, store.conflict
 *   413, 415         api.tooLarge, api.unsupportedMediaType
 *   422              api.checkFailed (VerifyAccountPassword on the /CLI/ form: the password does not match)
 *   500, 503         internal, store.*, auth.unavailable
 */
import { isMailwardError, type ErrorCode } from '../../core/errors.js';

/** The codes the API adds to the error catalogue, with what each means (the OpenAPI document
 *  and docs/api.md list them from here). */
export const API_ERROR_CODES = {
  'auth.required': 'no (or a malformed) Authorization: Basic header',
  'auth.failed': 'wrong name or password (also for unknown names, and, with Hide Unknown, locked or disabled accounts)',
  'auth.locked': 'the account is suspended after failed logins (H2; only when Hide Unknown is off)',
  'auth.disabled': 'the account may not use the API (its Enabled Services lack CLI; only when Hide Unknown is off)',
  'auth.secureMethodRequired': 'the account requires a secure method and the link is not TLS (A7)',
  'auth.notClientAddress': 'logins are accepted only from the Client IP Addresses (N2); the connection is closed',
  'auth.tlsRequired': 'HTTP Basic over a clear connection that is not the loopback admin listener (A8)',
  'auth.unavailable': 'authentication is temporarily unavailable (a password source did not answer)',
  'api.badRequest': 'the request could not be read: no command, a syntax error, a body that is not a JSON object',
  'api.unknownCommand': 'no command of that name',
  'api.tooLarge': 'the request body is larger than the limit',
  'api.unsupportedMediaType': 'the body is not of the expected Content-Type',
  'api.checkFailed': 'a check answered no (VerifyAccountPassword on the /CLI/ form)',
  'api.noConnection': 'the request did not come through a Mailward listener (a wiring bug)',
} as const;

export type ApiErrorCode = ErrorCode | keyof typeof API_ERROR_CODES;

export interface ApiFailure { status: number; code: ApiErrorCode; message: string }

const STATUS: Record<ErrorCode, number> = {
  'format.syntax': 400,
  'format.limit': 400,
  'settings.invalid': 400,
  'settings.unknown': 400,
  'name.invalid': 400,
  'cli.usage': 400,
  'directory.refused': 403,
  'directory.notFound': 404,
  'store.notFound': 404,
  'directory.exists': 409,
  'store.exists': 409,
  'store.conflict': 409,
  'store.corrupt': 500,
  'store.io': 503,
  'store.locked': 503,
  internal: 500,
};

/** The failure for an exception a command threw; bugs get a generic message (the details are
 *  logged, never sent: a stack or a path is nobody's business on the wire). */
export function failureOf(e: unknown): ApiFailure {
  if (isMailwardError(e) && e.code !== 'internal' && e.code !== 'store.corrupt' && e.code !== 'store.io') {
    return { status: STATUS[e.code], code: e.code, message: e.message };
  }
  if (isMailwardError(e)) return { status: STATUS[e.code], code: e.code, message: 'the server could not complete the operation (logged)' };
  return { status: 500, code: 'internal', message: 'internal error (logged)' };
}
