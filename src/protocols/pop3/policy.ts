/**
 * What this POP3 connection offers before login, as a pure function of the settings, the link and
 * the greeting: SASL mechanisms (A6, A8), USER (A8), STLS, APOP (A4) and the CAPA list. The
 * greeting, CAPA, AUTH, USER and APOP all read this one answer.
 */
import { mayOfferApop } from '../../sasl/advertise.js';
import type { ServerSettings } from '../../settings/schema.js';
import { connectionOffer, PolicyCache, type PreLoginOffer } from '../common/advertise.js';
import type { ConnectionInfo } from '../common/session.js';

export interface Pop3Policy extends PreLoginOffer {
  /** A4: APOP may be used: the greeting carried a timestamp and the policy still allows it. */
  apop: boolean;
  /** CAPA lines (RFC 2449), without the +OK line and the final dot. */
  capabilities: string[];
}

const cache = new PolicyCache<Pop3Policy>(makePop3Policy);

/** The policy for this connection now (shared and frozen: see PolicyCache). */
export function pop3Policy(info: ConnectionInfo, settings: ServerSettings, greetingHadTimestamp: boolean): Pop3Policy {
  return cache.get(info, settings, greetingHadTimestamp);
}

function makePop3Policy(info: ConnectionInfo, settings: ServerSettings, greetingHadTimestamp: boolean): Pop3Policy {
  const offer = connectionOffer(info, settings);
  const { mechanisms, clearText, startTls } = offer;
  const capabilities: string[] = [];
  if (clearText) capabilities.push('USER');
  if (mechanisms.length > 0) capabilities.push(`SASL ${mechanisms.join(' ')}`);
  if (startTls) capabilities.push('STLS');
  // RFC 2449 RESP-CODES and RFC 3206 AUTH-RESP-CODE: our -ERR replies carry [AUTH], [SYS/TEMP]...
  capabilities.push('RESP-CODES', 'AUTH-RESP-CODE', 'IMPLEMENTATION Mailward');
  return { ...offer, apop: greetingHadTimestamp && mayOfferApop(offer.input), capabilities };
}
