/**
 * The interface between a protocol session that has authenticated a user and the module that logs
 * in to the backend mail server for that user (B1, B2). The session asks once; the connector
 * returns a socket already logged in (IMAP, POP3) or ready for MAIL FROM (SMTP), or a clean reason
 * why not. Nothing here ever fakes a session: no backend means `no-backend` (B2).
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AuthOutcome } from '../sasl/mechanism.js';
import type { ConnectionInfo } from '../protocols/common/session.js';

export type BackendService = 'IMAP' | 'POP' | 'SMTP';

export interface BackendRequest {
  service: BackendService;
  /** The engine's ok outcome: the account (and authz account) to log in as. */
  login: Extract<AuthOutcome, { status: 'ok' }>;
  /** The password the client sent in clear, when it did (pass-through login); absent after a
   *  secure mechanism, which then needs the master-user login. */
  password?: Buffer;
  /** The client connection: its address and port go to the backend (IMAP ID x-originating-ip,
   *  XCLIENT ADDR/PORT) and its session id too. */
  client: ConnectionInfo;
  /** SMTP: the client's EHLO name (XCLIENT HELO). */
  helo?: string;
}

export type BackendResult =
  | {
      status: 'ok';
      socket: Socket | TLSSocket;
      /** IMAP: the backend's capability list after login (without the leading "CAPABILITY"),
       *  for the tagged OK's [CAPABILITY ...] code. SMTP: the backend's EHLO keywords. */
      capabilities?: string[];
      /** Bytes already read from the backend past the login exchange (must reach the client). */
      pending?: Buffer;
    }
  /** The domain has no backend configured (B2). */
  | { status: 'no-backend' }
  /** Connection refused, time-out, TLS failure, relay loop...: a temporary error for the client. */
  | { status: 'unavailable'; reason: string }
  /** The backend refused the login (wrong master password, user unknown there). */
  | { status: 'refused'; reason: string };

export interface BackendConnector {
  connect(req: BackendRequest): Promise<BackendResult>;
}
