/**
 * External Authentication (E1–E5): the client the engine calls. See README.md in this folder for
 * the protocol rules, the injection rule and the outcomes.
 */
export {
  ExternalAuthenticator,
  EXTAUTH_REQUEST_TIMEOUT_MS, EXTAUTH_START_TIMEOUT_MS, EXTAUTH_STOP_GRACE_MS, EXTAUTH_RESTART_INITIAL_MS, EXTAUTH_RESTART_MAX_MS,
  EXTAUTH_STABLE_RUN_MS, EXTAUTH_MAX_IN_FLIGHT, EXTAUTH_EXIT_DRAIN_MS,
  type ExternalAuthOptions, type ExternalOutcome, type ExternalUnavailableReason, type ExternalState,
  type ExternalStatus, type PasswordInput,
} from './client.js';
export { EXTAUTH_INTERFACE_VERSION, type Address } from './protocol.js';
