/**
 * Which mechanisms a listener offers on one connection: a pure function of the server-wide
 * Advertise options (A6), the listener's clear-text policy (A8) and the state of the link. The
 * protocols print exactly this list (IMAP AUTH=, SMTP AUTH, POP3 SASL) and pass it to
 * SaslSession as `offered`, so a hidden mechanism cannot be used by naming it either.
 */
import type { SaslMechanism } from './mechanism.js';
import { MECHANISMS } from './registry.js';

export interface AdvertiseInput {
  /** Server-wide "Advertise Secure SASL methods" (settings: AdvertiseSecureSASL). */
  advertiseSecure: boolean;
  /** Server-wide "Advertise MSN SASL method" (settings: AdvertiseMSN). */
  advertiseMSN: boolean;
  /** Server-wide "Advertise NTLM SASL method" (settings: AdvertiseNTLM). */
  advertiseNTLM: boolean;
  /** The listener's policy for clear-text passwords (settings: listener ClearTextLogin). */
  clearTextAllowed: 'always' | 'tls-only';
  /** The connection is TLS now (implicit TLS, or after STARTTLS/STLS). */
  linkSecure: boolean;
  /** The TLS layer can give channel-binding data for this connection (-PLUS mechanisms). */
  channelBindingAvailable: boolean;
}

/** The server-wide defaults, as in CommuniGate Pro and settings/schema.ts: secure methods on,
 *  MSN and NTLM off (they confuse Microsoft clients into lock-outs), clear text only over TLS. */
export const ADVERTISE_DEFAULTS: Readonly<Pick<AdvertiseInput, 'advertiseSecure' | 'advertiseMSN' | 'advertiseNTLM' | 'clearTextAllowed'>> = Object.freeze({
  advertiseSecure: true,
  advertiseMSN: false,
  advertiseNTLM: false,
  clearTextAllowed: 'tls-only',
});

/**
 * A8: a clear-text password method (PLAIN, LOGIN, and for the protocols IMAP LOGIN and POP3
 * USER) may be offered only where the listener allows it: always, or once the link is TLS.
 * The protocols use the same predicate for LOGINDISABLED and for hiding USER.
 */
export function mayAdvertiseClearText(input: Pick<AdvertiseInput, 'clearTextAllowed' | 'linkSecure'>): boolean {
  return input.clearTextAllowed === 'always' || input.linkSecure;
}

/** A4: the POP3 greeting carries an APOP timestamp only when APOP may be used; APOP is a
 *  secure method (the password never crosses the link), so it follows "Advertise Secure". */
export function mayOfferApop(input: Pick<AdvertiseInput, 'advertiseSecure'>): boolean {
  return input.advertiseSecure;
}

function offered(m: SaslMechanism, input: AdvertiseInput): boolean {
  // A -PLUS mechanism without binding data could never succeed, and advertising it would make
  // SCRAM's downgrade check refuse clients that correctly chose the plain variant.
  if (m.plus && !(input.channelBindingAvailable && input.linkSecure)) return false;
  switch (m.advertiseGroup) {
    case 'clear':
      return mayAdvertiseClearText(input);
    case 'secure':
      return input.advertiseSecure;
    case 'ntlm':
      return input.advertiseNTLM;
    case 'msn':
      return input.advertiseMSN;
    case 'apop':
      return false; // not SASL: see mayOfferApop
  }
}

/** SASL mechanism names to offer, in the registry's order of preference. */
export function advertisedMechanisms(input: AdvertiseInput, mechanisms: readonly SaslMechanism[] = MECHANISMS): string[] {
  return mechanisms.filter((m) => offered(m, input)).map((m) => m.name);
}
