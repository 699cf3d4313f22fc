/**
 * The settings schema: every setting Mailward knows, with its stored key (CommuniGate Pro's where
 * one exists, so existing admin scripts keep working), a codec that checks it, its built-in default,
 * a label for the web admin and a line for the configuration reference (docs/configuration.md is
 * generated from this table by `mailward settings-reference`).
 *
 * Three objects carry settings: the server (Settings/Main.settings), each domain
 * (Domains/<d>/Settings/Domain.settings) and each account; account settings have two layers of
 * defaults, domain-wide and server-wide (P1).
 */
import { LOG_MODULES, type LogLevel } from '../core/log.js';
import {
  addressPattern, boolean, dictOf, domainName, duration, integer, ipAddress, list, logLevel, oneOf, record, text,
  type Codec,
} from './codecs.js';
import type { CgValue } from './format/types.js';

export interface SettingDef<T> {
  readonly codec: Codec<T>;
  readonly default: T;
  /** Web admin label: the CommuniGate Pro wording where the reference has one. */
  readonly label: string;
  readonly group: string;
  readonly help: string;
  /** Never shown back in clear by any interface (passwords, private keys). */
  readonly secret?: boolean;
}

function def<T>(codec: Codec<T>, dflt: T, label: string, group: string, help: string, secret = false): SettingDef<T> {
  return { codec, default: dflt, label, group, help, secret };
}

// ---- listeners --------------------------------------------------------------------------------

export const SERVICES = ['IMAP', 'POP', 'SMTP', 'HTTPA', 'HTTPU', 'PWD'] as const;
export type Service = (typeof SERVICES)[number];

export interface ListenerConfig {
  Address: string;
  Port: number;
  /** implicit: TLS from the first byte; starttls: clear with STARTTLS/STLS; clear: no TLS offered. */
  TLS: 'implicit' | 'starttls' | 'clear';
  /** Empty Grant = every address is granted (unless denied). N3. */
  Grant: string[];
  Deny: string[];
  /** Addresses (load balancers) whose PROXY protocol v1/v2 header is accepted. N4. */
  ProxyFrom: string[];
  /** A8: 'tls-only' hides and refuses clear-text passwords before TLS. */
  ClearTextLogin: 'always' | 'tls-only';
}

const listenerCodec: Codec<ListenerConfig> = record<ListenerConfig>({
  Address: { codec: ipAddress, default: '0.0.0.0' },
  // 0 binds any free port: for tests and for listeners whose port another part reports.
  Port: { codec: integer(0, 65535), default: 0 },
  TLS: { codec: oneOf(['implicit', 'starttls', 'clear'] as const), default: 'starttls' },
  Grant: { codec: list(addressPattern), default: [] },
  Deny: { codec: list(addressPattern), default: [] },
  ProxyFrom: { codec: list(addressPattern), default: [] },
  ClearTextLogin: { codec: oneOf(['always', 'tls-only'] as const), default: 'tls-only' },
});

const lst = (Address: string, Port: number, TLS: ListenerConfig['TLS'], extra: Partial<ListenerConfig> = {}): ListenerConfig =>
  ({ Address, Port, TLS, Grant: [], Deny: [], ProxyFrom: [], ClearTextLogin: 'tls-only', ...extra });

/** Unprivileged default ports, so Mailward starts without root; any port can be configured. */
export const DEFAULT_LISTENERS: Record<Service, ListenerConfig[]> = {
  IMAP: [lst('0.0.0.0', 1143, 'starttls'), lst('0.0.0.0', 1993, 'implicit')],
  POP: [lst('0.0.0.0', 1110, 'starttls'), lst('0.0.0.0', 1995, 'implicit')],
  SMTP: [lst('0.0.0.0', 1587, 'starttls'), lst('0.0.0.0', 1465, 'implicit')],
  HTTPA: [lst('0.0.0.0', 9010, 'implicit'), lst('127.0.0.1', 8010, 'clear', { ClearTextLogin: 'always' })],
  HTTPU: [lst('0.0.0.0', 9100, 'implicit')],
  // Loopback only, so local admin scripts (CGP::CLI logs in with USER/PASS or APOP) work as they are.
  PWD: [lst('127.0.0.1', 1106, 'starttls', { ClearTextLogin: 'always' })],
};

const listenersCodec: Codec<Record<string, ListenerConfig[]>> = dictOf(SERVICES, list(listenerCodec, { maxItems: 64 }));

// ---- server-wide settings ---------------------------------------------------------------------

export const SERVER_SETTINGS = {
  MainDomainName: def(domainName, 'localhost', 'Main Domain Name', 'General',
    'The main domain: bare account names resolve here, and its accounts may hold server-wide rights.'),
  HideUnknownAccounts: def(boolean, true, 'Hide Unknown Account messages', 'Login Security',
    'H1: unknown account and wrong password give the same reply and take the same time.'),
  LoginFailureLimit: def(integer(0, 10_000), 10, 'Suspend Account after (failed logins)', 'Login Security',
    'H2: this many failed logins within the period suspend the account for that period; 0 disables.'),
  LoginFailurePeriod: def(duration(1, 30 * 86400), 600, 'within', 'Login Security',
    'H2: the counting window and the suspension time.'),
  LoginFailureDelay: def(duration(0, 60), 2, 'Delay failed login replies', 'Login Security',
    'A failed login (wrong password, unknown or suspended account) is answered after this delay, on a timer: a guessing client gets one try per delay and connection, while the server spends no CPU waiting. 0 answers at once.'),
  AdvertiseSecureSASL: def(boolean, true, 'Advertise Secure SASL methods', 'Login Security',
    'A6: offer CRAM-MD5, DIGEST-MD5 and SCRAM.'),
  AdvertiseMSN: def(boolean, false, 'Advertise MSN SASL method', 'Login Security', 'A6: offer the MSN method.'),
  AdvertiseNTLM: def(boolean, false, 'Advertise NTLM SASL method', 'Login Security', 'A6: offer the NTLM method.'),
  AllowNTLMv1: def(boolean, false, 'Accept NTLMv1 responses', 'Login Security',
    'A3: NTLMv1 is weak; many clients still answer with it when the challenge has no TargetInfo.'),
  ScramIterations: def(integer(4096, 1_000_000), 4096, 'SCRAM iteration count', 'Login Security',
    'Iterations for newly stored SCRAM keys (RFC 7677 asks for at least 4096).'),
  TLSLogLevel: def(logLevel, 'major', 'TLS Sessions: Log', 'TLS Sessions', 'T2: level of the TLS module records.'),
  TLSSessionTimeToLive: def(duration(0, 86400), 600, 'TLS Sessions: Time To Live', 'TLS Sessions',
    'T2: how long a TLS session (ID or ticket) can be resumed.'),
  TLSMinVersion: def(oneOf(['TLSv1.2', 'TLSv1.3'] as const), 'TLSv1.2', 'Minimum TLS version', 'TLS Sessions',
    'Older versions are refused.'),
  TLSCiphers: def(text({ maxLength: 2048 }), '', 'TLS 1.2 cipher list', 'TLS Sessions',
    'OpenSSL cipher string for TLS 1.2; empty = the built-in modern list (ECDHE with AEAD).'),
  ClientIPAddresses: def(list(addressPattern), ['127.0.0.0/8', '::1'], 'Client IP Addresses', 'Protection',
    'N1: addresses and ranges of the site\'s own clients.'),
  RejectNonClientLogins: def(boolean, false, 'Reject all Logins from Non-Client Addresses', 'Protection',
    'N2: every login from an address outside the Client IP Addresses (and the server itself) is refused.'),
  ExtAuthEnabled: def(boolean, false, 'External Authentication: enabled', 'Helpers', 'E1: start the helper program.'),
  ExtAuthProgram: def(text({ maxLength: 1024 }), '', 'External Authentication: Program Path', 'Helpers',
    'E1: path of the helper program.'),
  ExtAuthArguments: def(list(text({ maxLength: 1024 }), { maxItems: 64 }), [], 'External Authentication: arguments', 'Helpers',
    'E1: arguments given to the program.'),
  ExtAuthLogLevel: def(logLevel, 'major', 'External Authentication: Log', 'Helpers', 'E1: level of the EXTAUTH records.'),
  ExtAuthTimeout: def(duration(1, 600), 20, 'External Authentication: time-out', 'Helpers',
    'E4: a request not answered in this time fails cleanly.'),
  PAMService: def(text({ maxLength: 64, pattern: /^[A-Za-z0-9_.-]+$/, patternHelp: 'a PAM service name' }), 'mailward',
    'PAM service name', 'OS Passwords', 'P6: the /etc/pam.d service used to check OS passwords.'),
  Listeners: def(listenersCodec, DEFAULT_LISTENERS as Record<string, ListenerConfig[]>, 'Listeners', 'Listeners',
    'N3, N4: per service, its listeners: address, port, TLS mode, Grant/Deny and PROXY sources.'),
  LogLevels: def(dictOf(LOG_MODULES, logLevel), {} as Record<string, LogLevel>, 'Log levels', 'Logs',
    'W4: per module (IMAP, POP, SMTP, HTTP, EXTAUTH, TLS...); modules not listed use LogLevel.'),
  LogLevel: def(logLevel, 'major', 'Default log level', 'Logs', 'W4: level of modules not listed in LogLevels.'),
} satisfies Record<string, SettingDef<unknown>>;

// ---- domain settings --------------------------------------------------------------------------

export const DOMAIN_SETTINGS = {
  DomainAliases: def(list(domainName, { maxItems: 1000 }), [], 'Domain Aliases', 'General',
    'Other names of this domain: name@alias resolves to name@domain.'),
  LocalIPAddresses: def(list(ipAddress, { maxItems: 256 }), [], 'Assigned IP Addresses', 'General',
    'Local addresses assigned to this domain: bare names that connect to them resolve here, and TLS clients without SNI get its certificate (T8).'),
  ConsultExternalAuth: def(boolean, false, 'Consult External Authenticator', 'General',
    'E3: for unknown names, ask the External Authentication program (NEW) and look the name up again on OK.'),
  CertificateMode: def(oneOf(['No', 'Test', 'Custom'] as const), 'Test', 'SSL/TLS Certificate To Use', 'Security',
    'T4: No refuses secure connections for this domain; Test uses the server\'s test certificate; Custom uses the key and certificate below.'),
  PrivateKey: def(text({ maxLength: 16384 }), '', 'Private Key', 'Security', 'T5: PEM (PKCS#8).', true),
  Certificate: def(text({ maxLength: 65536 }), '', 'Certificate', 'Security', 'T6: PEM.'),
  CAChain: def(text({ maxLength: 262144 }), '', 'Certificate Authority Chain', 'Security', 'T7: PEM certificates, root last.'),
  BackendHost: def(text({ maxLength: 253 }), '', 'Backend server', 'Backend',
    'B1: host of the mail server holding the mailboxes; empty = none (B2: logins get a temporary error).'),
  BackendIMAPPort: def(integer(0, 65535), 143, 'Backend IMAP port', 'Backend', 'B1.'),
  BackendPOPPort: def(integer(0, 65535), 110, 'Backend POP3 port', 'Backend', 'B1.'),
  BackendSMTPPort: def(integer(0, 65535), 25, 'Backend SMTP port', 'Backend', 'B1.'),
  BackendTLS: def(oneOf(['none', 'starttls', 'implicit'] as const), 'none', 'TLS to the backend', 'Backend', 'B1.'),
  BackendVerifyCertificate: def(boolean, true, 'Verify the backend certificate', 'Backend', 'B1.'),
  BackendLogin: def(oneOf(['passthrough', 'master'] as const), 'master', 'Backend login', 'Backend',
    'B1: passthrough sends the user\'s own password (clear-text methods only); master logs in as a master user for the user, so secure methods work too.'),
  BackendMasterUser: def(text({ maxLength: 255 }), '', 'Backend master user', 'Backend', 'B1.'),
  BackendMasterPassword: def(text({ maxLength: 1024 }), '', 'Backend master password', 'Backend', 'B1.', true),
  BackendMasterStyle: def(oneOf(['authzid', 'separator'] as const), 'authzid', 'Master user style', 'Backend',
    'B1: authzid = SASL PLAIN with the user as authorization identity; separator = user*master login.'),
  BackendMasterSeparator: def(text({ maxLength: 4 }), '*', 'Master user separator', 'Backend', 'B1.'),
  BackendSMTPMode: def(oneOf(['xclient', 'relay-login'] as const), 'xclient', 'SMTP relay mode', 'Backend',
    'B1: XCLIENT (Postfix) carries the login name and client address; relay-login authenticates as the master user.'),
} satisfies Record<string, SettingDef<unknown>>;

// ---- account settings (also the keys of both layers of Default Account Settings) ----------

export const ACCOUNT_SETTINGS = {
  Password: def(text({ maxLength: 4096 }), '', 'Password', 'Password',
    'P3: the own password, stored as given by Password Encryption (clear or one-way).', true),
  ScramKeys: def(list(text({ maxLength: 1024 }), { maxItems: 4 }), [], 'SCRAM keys', 'Password',
    'P3: stored SCRAM-SHA-256/SHA-1 keys beside a one-way password, so SCRAM works (A9).', true),
  PasswordEncryption: def(oneOf(['clear', 'U-crpt'] as const), 'U-crpt', 'Password Encryption', 'Password',
    'P3: clear keeps passwords reversible (needed by CRAM-MD5, DIGEST-MD5, NTLM, APOP); U-crpt stores argon2id plus SCRAM keys.'),
  UseAppPassword: def(boolean, true, 'Use Mailward Password', 'Password', 'P1: the own password may be used.'),
  UseSysPassword: def(boolean, false, 'Use OS Password', 'Password', 'P1, P6: the OS password (PAM) may be used.'),
  UseExtPassword: def(boolean, false, 'Use External Password', 'Password', 'P1, E2: the External Authentication program may be used.'),
  RequireSecureMethod: def(boolean, false, 'Secure Method Required', 'Password',
    'A7: a password sent in clear over a link that is not TLS is refused.'),
  OSUserName: def(text({ maxLength: 255, pattern: /^[^\s:/]*$/, patternHelp: 'a pattern such as *, mail-* or *%corp' }), '*', 'OS User Name', 'Password',
    'P6: the OS user name; * stands for the account name.'),
  AccessModes: def(list(oneOf(['All', 'None', 'IMAP', 'POP', 'SMTP', 'HTTP', 'CLI', 'PWD'] as const)), ['All'], 'Enabled Services', 'General',
    'The services this account may log in to; None disables the account.'),
  RealName: def(text({ maxLength: 255 }), '', 'Real Name', 'General', 'Shown in lists.'),
} satisfies Record<string, SettingDef<unknown>>;

export type SchemaTable = Record<string, SettingDef<unknown>>;
export type ValuesOf<S extends SchemaTable> = { [K in keyof S]: S[K] extends SettingDef<infer T> ? T : never };
export type ServerSettings = ValuesOf<typeof SERVER_SETTINGS>;
export type DomainSettings = ValuesOf<typeof DOMAIN_SETTINGS>;
export type AccountSettings = ValuesOf<typeof ACCOUNT_SETTINGS>;

export type Scope = 'server' | 'domain' | 'account';
export const SCHEMAS: Record<Scope, SchemaTable> = { server: SERVER_SETTINGS, domain: DOMAIN_SETTINGS, account: ACCOUNT_SETTINGS };

export interface SettingProblem { key: string; message: string }

/** Checks a stored or submitted dictionary against a scope's schema: unknown keys and bad values. */
export function checkSettings(scope: Scope, data: Record<string, CgValue>): SettingProblem[] {
  const schema = SCHEMAS[scope];
  const problems: SettingProblem[] = [];
  for (const [key, raw] of Object.entries(data)) {
    const d = schema[key];
    if (!d) { problems.push({ key, message: `unknown ${scope} setting ${JSON.stringify(key)}` }); continue; }
    const r = d.codec.decode(raw);
    if (!r.ok) problems.push({ key, message: `${key}: ${r.message}` });
  }
  return problems;
}
