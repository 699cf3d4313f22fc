/**
 * What every protocol session gets from the server: the authentication engine, the current
 * server-wide settings (read on each use: changes apply to the next command, without a restart),
 * the backend connector, and the host name used in greetings and SASL challenges.
 */
import type { AuthEngine } from '../../auth/engine.js';
import type { BackendConnector } from '../../backends/connector.js';
import type { ServerSettings } from '../../settings/schema.js';

export interface ProtocolDeps {
  engine: AuthEngine;
  serverSettings(): Promise<ServerSettings>;
  backends: BackendConnector;
  /** Host name for greetings, CRAM-MD5 challenges and the DIGEST-MD5 realm: the main domain. */
  hostname(): Promise<string>;
}
