/**
 * The contract between a listener (which owns the socket) and a protocol session (which owns the
 * protocol state). A session never touches the client socket: it is handed lines, literals and
 * events, and answers with effects that the listener carries out in order. This keeps every
 * protocol testable as a transcript, and keeps socket rules (STARTTLS input discard, limits,
 * time-outs, back-pressure) written once, in the listener.
 *
 * A session may await services (the auth engine, the backend connector): those are not the client
 * socket.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ChannelBindingType } from '../../sasl/mechanism.js';

export type ServiceName = 'IMAP' | 'POP' | 'SMTP' | 'PWD';

/** What the listener knows about the connection, with the PROXY-protocol address applied (N4). */
export interface ConnectionInfo {
  /** Session id for logs (random, short). */
  id: string;
  service: ServiceName;
  /** The client's address and port: from the PROXY header when one was accepted. */
  remoteAddress: string;
  remotePort: number;
  /** The local address the client connected to (the PROXY header's destination when present). */
  localAddress: string;
  localPort: number;
  /** The link is TLS now. */
  secure: boolean;
  /** TLS details once secure. */
  tls?: TlsInfo;
  /** The listener's policy: 'tls-only' forbids clear-text passwords before TLS (A8). */
  clearTextLogin: 'always' | 'tls-only';
  /** STARTTLS/STLS can be offered on this connection (a clear listener whose address's domain
   *  has TLS; false on implicit-TLS listeners once secure, and for mode No). */
  startTlsAvailable: boolean;
  /** Set by the listener when the client sent bytes before the greeting (the effects of
   *  `start()`) was written: an SMTP early talker (RFC 5321 §4.3.1 - spam bots). The listener
   *  reads while `start()` runs, so a session that waits a moment before resolving its greeting
   *  can look at this flag on its first line. */
  earlyInput?: boolean;
}

export interface TlsInfo {
  protocol: string;      // 'TLSv1.3'
  cipher: string;
  servername?: string;   // SNI
  domain?: string;       // the domain whose certificate was chosen
  resumed: boolean;
  /** Channel-binding data this connection offers (SCRAM-PLUS). */
  channelBindings: Partial<Record<ChannelBindingType, Buffer>>;
}

/** How the listener must read the next input. */
export type ReadMode =
  | { kind: 'line' }
  /** IMAP literal: exactly `size` raw bytes follow, then line mode resumes. */
  | { kind: 'literal'; size: number };

export type Effect =
  /** Write bytes (or text, as UTF-8) to the client. */
  | { type: 'write'; data: string | Buffer }
  /** Upgrade to TLS now (after the writes before it are flushed). Any input the client pipelined
   *  after the command is discarded (T1); then `onTlsStarted` is called, or, if the handshake
   *  fails, the connection is closed. */
  | { type: 'starttls' }
  /** Read the next input as a literal of `size` bytes (after the writes before it). */
  | { type: 'read'; mode: ReadMode }
  /** Hand the connection over: splice client and `backend` both ways with back-pressure, after
   *  writing `preface` (if any) to the client. The session is finished. */
  | { type: 'relay'; backend: Socket | TLSSocket; preface?: string | Buffer; account: string }
  /** Close after the writes before it are flushed. */
  | { type: 'close'; reason: string };

export interface ProtocolSession {
  /** The greeting (and anything else to do at connect). */
  start(): Promise<Effect[]>;
  /** One input line, without its CRLF (the listener enforces the line-length limit and reports
   *  an over-long line through `onLineTooLong`). */
  onLine(line: Buffer): Promise<Effect[]>;
  /** The literal requested with a `read` effect. */
  onLiteral(data: Buffer): Promise<Effect[]>;
  onLineTooLong(): Promise<Effect[]>;
  /** TLS is up (after `starttls`): the session resets its state (RFC 3207, 2595, 3501: forget
   *  everything learned before TLS) and may update `info` (the same object, now secure). */
  onTlsStarted(): Promise<Effect[]>;
  /** The pre-authentication idle time-out fired: the reply to send before closing. */
  onIdleTimeout(): Effect[];
  /** The connection is gone (either side); release anything held. */
  onClose(): void;
}

/** Shared services a session gets (the listener passes them through). */
export type SessionFactory = (info: ConnectionInfo) => ProtocolSession;
