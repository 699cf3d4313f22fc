/**
 * The connection facts every protocol's pre-login policy starts from: what the link and the
 * server settings allow to be advertised (A6, A8, through src/sasl/advertise.ts), and the host
 * name a greeting may carry. IMAP and POP3 read the same answer, so one listener policy cannot
 * mean different things on two ports.
 */
import type { AdvertiseInput } from '../../sasl/advertise.js';
import type { ServerSettings } from '../../settings/schema.js';
import type { ConnectionInfo } from './session.js';

export function advertiseInput(info: ConnectionInfo, settings: ServerSettings): AdvertiseInput {
  const bindings = info.tls?.channelBindings ?? {};
  return {
    advertiseSecure: settings.AdvertiseSecureSASL,
    advertiseMSN: settings.AdvertiseMSN,
    advertiseNTLM: settings.AdvertiseNTLM,
    clearTextAllowed: info.clearTextLogin,
    linkSecure: info.secure,
    channelBindingAvailable: info.secure && Object.values(bindings).some((b) => b !== undefined && b.length > 0),
  };
}

/** Host names go into greetings: anything but a plain DNS name is replaced, so a bad setting
 *  cannot inject text into the protocol. */
export function safeHostname(name: string): string {
  return /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(name) ? name : 'localhost';
}
