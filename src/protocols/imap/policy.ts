/**
 * What this connection offers before login, as a pure function of the server settings and the
 * link: the SASL mechanisms (A6, A8 through src/sasl/advertise.ts), whether clear-text passwords
 * are allowed (LOGINDISABLED), STARTTLS, and the CAPABILITY list built from them. The greeting,
 * CAPABILITY, AUTHENTICATE and LOGIN all read this one answer, so what is advertised and what is
 * accepted cannot drift apart.
 */
import type { ServerSettings } from '../../settings/schema.js';
import { connectionOffer, PolicyCache, type PreLoginOffer } from '../common/advertise.js';
import type { ConnectionInfo } from '../common/session.js';

export interface ImapPolicy extends PreLoginOffer {
  /** Mechanisms appear as AUTH=...; LOGINDISABLED when `clearText` is false. */
  capabilities: string[];
}

const cache = new PolicyCache<ImapPolicy>((info, settings) => makeImapPolicy(info, settings));

/** The policy for this connection now (shared and frozen: see PolicyCache). */
export function imapPolicy(info: ConnectionInfo, settings: ServerSettings): ImapPolicy {
  return cache.get(info, settings);
}

function makeImapPolicy(info: ConnectionInfo, settings: ServerSettings): ImapPolicy {
  const offer = connectionOffer(info, settings);
  const { mechanisms, clearText, startTls } = offer;
  // IMAP4rev1 only: the pre-login part of IMAP4rev2 is the same, but advertising rev2 here would
  // promise rev2 behaviour that only the backend, after login, can keep.
  const capabilities = ['IMAP4rev1', 'SASL-IR', 'LITERAL-', 'ID'];
  if (startTls) capabilities.push('STARTTLS');
  // RFC 9051 §6.2.3 / RFC 3501 §7.2.1: LOGINDISABLED whenever LOGIN would be refused (A8).
  if (!clearText) capabilities.push('LOGINDISABLED');
  for (const m of mechanisms) capabilities.push(`AUTH=${m}`);
  return { ...offer, capabilities };
}
