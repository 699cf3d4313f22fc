/**
 * The one list of server-side mechanisms. Adding a mechanism is one file in mechs/ plus one line
 * here; protocols and the advertise policy look mechanisms up only through this module, so no
 * protocol ever names mechanism code.
 */
import type { SaslMechanism } from './mechanism.js';

// --- PLAIN / LOGIN / CRAM-MD5 / DIGEST-MD5 / APOP (owned by the framework helper) ---
import { plain } from './mechs/plain.js';
import { login } from './mechs/login.js';
import { cramMd5 } from './mechs/cram-md5.js';
import { digestMd5 } from './mechs/digest-md5.js';
import { apop } from './mechs/apop.js';

// --- SCRAM / NTLM / MSN: the SCRAM/NTLM helper enables these imports and list entries ---
import { scramSha1, scramSha1Plus, scramSha256, scramSha256Plus } from './mechs/scram.js';
import { ntlm, msn } from './mechs/ntlm.js';
// --- end of SCRAM / NTLM / MSN block ---

/** Order is the order of preference in which a listener advertises them (strongest first). */
export const MECHANISMS: readonly SaslMechanism[] = [
  // --- SCRAM / NTLM / MSN entries (SCRAM/NTLM helper enables them) ---
  scramSha256Plus, scramSha1Plus, scramSha256, scramSha1,
  // --- end ---
  // --- framework helper entries ---
  digestMd5, cramMd5, plain, login,
  // --- end ---
  // --- SCRAM / NTLM / MSN entries (SCRAM/NTLM helper enables them) ---
  ntlm, msn,
  // --- end ---
  // APOP is a POP3 command, not SASL: the advertise policy and SaslSession never offer it.
  apop,
];

/** Mechanism names are case-insensitive (RFC 4422 §3.1: names are upper-case but compared
 *  without regard to case by every protocol that carries them). */
export function getMechanism(name: string): SaslMechanism | undefined {
  const upper = name.toUpperCase();
  return MECHANISMS.find((m) => m.name === upper);
}
