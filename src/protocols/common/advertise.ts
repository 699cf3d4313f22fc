/**
 * The connection facts every protocol's pre-login policy starts from: what the link and the
 * server settings allow to be advertised (A6, A8, through src/sasl/advertise.ts), and the host
 * name a greeting may carry. IMAP and POP3 read the same answer, so one listener policy cannot
 * mean different things on two ports.
 */
import { advertisedMechanisms, mayAdvertiseClearText, type AdvertiseInput } from '../../sasl/advertise.js';
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

/** What a pre-login session offers now; each protocol's policy adds its own capability list. */
export interface PreLoginOffer {
  /** The server settings this answer was made from (read once per command). */
  settings: ServerSettings;
  /** The facts src/sasl/advertise.ts decided on (APOP is decided from them too). */
  input: AdvertiseInput;
  /** SASL mechanisms offered, also the only ones an AUTHENTICATE/AUTH accepts (A6, A8). */
  mechanisms: string[];
  /** A8: regular logins (LOGIN, USER/PASS) and the clear-text mechanisms may be used now. */
  clearText: boolean;
  /** STARTTLS/STLS can be used now. */
  startTls: boolean;
}

export function connectionOffer(info: ConnectionInfo, settings: ServerSettings): PreLoginOffer {
  const input = advertiseInput(info, settings);
  return {
    settings,
    input,
    mechanisms: advertisedMechanisms(input),
    clearText: mayAdvertiseClearText(input),
    startTls: info.startTlsAvailable && !info.secure,
  };
}
