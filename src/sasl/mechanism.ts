/**
 * The shape every SASL mechanism (and APOP) has on the server side, and the credential port
 * through which a mechanism asks for a decision. A mechanism never reads the store and never
 * decides policy: it does the mechanism's mathematics and makes exactly one
 * `port.authenticate(...)` call per exchange; the authentication engine (src/auth) implements the
 * port and applies every rule there (name resolution, client addresses, lock-out, secure method,
 * own/OS/external passwords, hide-unknown, authorization identity).
 */
import type { DeriveKind, DerivedCredential, ScramAlgorithm } from '../passwords/index.js';

/** What a mechanism needs from the account: a clear password to verify (PLAIN, LOGIN), or a
 *  secret looked up to check a challenge response (CRAM-MD5, DIGEST-MD5, SCRAM, NTLM, APOP). */
export type MechanismNeed = 'verify-plain' | 'lookup-credentials';

export type { ScramAlgorithm };

/** The secret a challenge mechanism can ask for: exactly what the password module derives from a
 *  stored password, so the engine passes derive()'s answer through as it is. */
export type CredentialKind = DeriveKind;

export type CredentialValue = DerivedCredential;

/**
 * What the client proved. `password` is a clear password (PLAIN, LOGIN, IMAP LOGIN, USER/PASS,
 * web form). `challenge` is a response to a challenge: the engine looks up the credential of kind
 * `needs` and calls `verify`; `external` is what the External Authentication program is sent
 * (`SASL(method) name@domain response challenge`) when the account uses an external password.
 */
export type Credential =
  | { type: 'password'; password: Buffer }
  | {
      type: 'challenge';
      mechanism: string;
      needs: CredentialKind;
      verify: (secret: CredentialValue) => boolean | Promise<boolean>;
      external?: { response: string; challenge: string };
    };

export type AuthOutcome =
  | { status: 'ok'; account: string; domain: string; source: 'own' | 'os' | 'external'; authzAccount?: string; authzDomain?: string }
  | { status: 'bad-credentials' }
  | { status: 'unknown' }
  | { status: 'locked'; until?: number }
  | { status: 'disabled' }
  | { status: 'secure-method-required' }
  | { status: 'not-client-address' }
  | { status: 'temporary-failure'; reason: string };

export type AuthStatus = AuthOutcome['status'];

export interface CredentialPort {
  /**
   * The one decision of an exchange. `login` is the name as the client gave it (`name`,
   * `name@domain`); `authzid`, when given and different, is the identity to act as, allowed only
   * when the authenticated account holds the right to act for it. `clearText` says whether the
   * password crossed the link in clear (A7 decides on it together with the link's security).
   */
  authenticate(req: { login: string; authzid?: string; method: string; clearText: boolean; credential: Credential }): Promise<AuthOutcome>;
  /** SCRAM needs salt and iteration count before the proof. For an unknown name (or one without
   *  SCRAM keys) this returns stable fake parameters, so the reply does not reveal the account. */
  scramParameters(login: string, algorithm: ScramAlgorithm): Promise<{ salt: Buffer; iterations: number }>;
}

export type ChannelBindingType = 'tls-exporter' | 'tls-unique' | 'tls-server-end-point';

export interface SaslContext {
  /** Host name used in CRAM-MD5 challenges, the DIGEST-MD5 realm default and digest-uri host. */
  serverName: string;
  /** digest-uri service name: imap, pop, smtp, http... */
  service: string;
  /** The link is TLS. */
  secure: boolean;
  /** Channel-binding data this connection can offer, by type (empty when not TLS). */
  channelBindings: Partial<Record<ChannelBindingType, Buffer>>;
  /** A -PLUS mechanism was advertised on this connection (SCRAM downgrade protection). */
  plusAdvertised: boolean;
  /** APOP only: the timestamp the POP3 greeting carried, e.g. `<1896.697170952@host>`. */
  apopTimestamp?: string;
  /** Server settings the mechanisms read. */
  options: { allowNtlmV1: boolean };
  port: CredentialPort;
}

export type SaslFailure =
  | { status: 'malformed'; reason: string }
  | { status: 'cancelled' }
  | Exclude<AuthOutcome, { status: 'ok' }>;

export type SaslStep =
  | { type: 'challenge'; data: Buffer }
  /** `serverData`: final data the server must send with success (SCRAM's v=, DIGEST's rspauth). */
  | { type: 'success'; outcome: Extract<AuthOutcome, { status: 'ok' }>; authcid: string; authzid?: string; serverData?: Buffer }
  | { type: 'failure'; failure: SaslFailure };

export interface SaslExchange {
  /** `input` is the client's decoded data; null when the client sent no initial response. The
   *  driver has already handled base64, the `*` cancel and the length limit. Never throws on
   *  hostile input: it answers with a failure step. */
  step(input: Buffer | null): Promise<SaslStep>;
}

export interface SaslMechanism {
  readonly name: string;
  readonly needs: MechanismNeed;
  /** The password crosses the link in clear (PLAIN, LOGIN): A7/A8 apply. */
  readonly clearText: boolean;
  /** Which server-wide Advertise option governs it. */
  readonly advertiseGroup: 'clear' | 'secure' | 'ntlm' | 'msn' | 'apop';
  /** A channel-binding (-PLUS) variant: offered only when the link has binding data. */
  readonly plus?: boolean;
  start(ctx: SaslContext): SaslExchange;
}
