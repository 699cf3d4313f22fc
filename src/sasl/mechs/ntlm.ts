/**
 * NTLM and MSN (A3), server side: the MS-NLMP exchange carried by SASL (Type 1 from the client,
 * Type 2 from us, Type 3 from the client). MSN is the same exchange under the name Microsoft's
 * mail clients use for it; only the name and the Advertise option differ.
 *
 * Verification works from the account's NT hash (credential kind 'nt-hash'), inside the port's
 * one `authenticate` call:
 * - NTLMv2 (NtChallengeResponse longer than 24 bytes): NTProofStr = HMAC-MD5(NTOWFv2, server
 *   challenge || blob), NTOWFv2 keyed by the NT hash over the upper-cased user and the domain as
 *   the client sent them. Our Type 2 always carries TargetInfo, which NTLMv2 needs.
 * - NTLMv1 (24 bytes), plain or with extended session security (the "NTLM2 session response"),
 *   only when `ctx.options.allowNtlmV1` is on: a v1 response is a DES encryption of our challenge
 *   under the NT hash, crackable offline, so it is off unless a server setting allows it. Many
 *   clients (libntlm in gsasl, curl without TargetInfo support, swaks) only speak v1.
 * - LM-only and anonymous responses are refused.
 *
 * Not done: the MIC and the session keys (KEY_EXCH, signing, sealing) - SASL NTLM here has no
 * security layer, so nothing would use them; the NTLMv2 blob timestamp is not checked against
 * the clock, because the random per-exchange server challenge already stops replay.
 *
 * Login name given to the port (the engine resolves it as for any other mechanism):
 * - a user field `user@domain` (UPN) is passed as it is;
 * - `DOMAIN\user` in the user field is split: the part after the backslash is the user;
 * - otherwise `user@domain` when the domain (from the domain field or the backslash form) looks
 *   like a DNS name (has a dot) and is not our own NetBIOS target name, else just `user`:
 *   NetBIOS domains (WORKGROUP, CORP) mean nothing to Mailward's domains, and clients such as
 *   libntlm echo our target name back as their domain.
 */
import { randomBytes } from 'node:crypto';
import { clientFirstExchange, malformed, type Challenge, type FailureStep } from '../exchange.js';
import type { SaslContext, SaslMechanism, SaslStep } from '../mechanism.js';
import { ntProofStr, ntlmV1EssResponse, ntlmV1Response, ntowfV2, safeEqual } from './ntlm/crypto.js';
import {
  AV, NTLM_FLAGS as F, buildChallenge, buildTargetInfo, parseAuthenticate, parseNegotiate, type Authenticate,
} from './ntlm/messages.js';

/** Smallest NTLMv2 response: NTProofStr (16) + the blob's fixed 28 bytes + MsvAvEOL (4). */
const NTLM_V2_MIN_RESPONSE = 48;

/** NetBIOS names are at most 15 characters (the 16th byte is the service type). */
const NETBIOS_MAX = 15;

const DNS_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
export const looksLikeDnsName = (s: string): boolean => DNS_NAME_RE.test(s);

/** Our NetBIOS-style target name: the first label of the server name, upper-cased. */
export function netbiosName(serverName: string): string {
  const label = (serverName.split('.')[0] ?? '').toUpperCase().replace(/[^A-Z0-9-]/g, '').slice(0, NETBIOS_MAX);
  return label === '' || /^[0-9-]+$/.test(label) ? 'MAILWARD' : label;
}

/** The login name handed to the port, from the Type 3 user and domain (see the header). */
export function ntlmLogin(user: string, domain: string, targetName: string): string {
  let u = user;
  let d = domain;
  const bs = u.indexOf('\\');
  if (bs >= 0) {
    d = u.slice(0, bs);
    u = u.slice(bs + 1);
  }
  if (u.includes('@')) return u;
  if (looksLikeDnsName(d) && d.toUpperCase() !== targetName.toUpperCase()) return `${u}@${d}`;
  return u;
}

/** The flags of our CHALLENGE, from what the client asked for. */
export function challengeFlags(clientFlags: number): number {
  let f = F.NTLM | F.TARGET_INFO | F.REQUEST_TARGET | F.TARGET_TYPE_SERVER;
  f |= (clientFlags & F.UNICODE) !== 0 ? F.UNICODE : F.OEM;
  // Echo what only describes the client's wishes and costs us nothing; never SIGN, SEAL,
  // KEY_EXCH or VERSION: there is no security layer and no Version field.
  for (const flag of [F.EXTENDED_SESSIONSECURITY, F.ALWAYS_SIGN, F.NEGOTIATE_128, F.NEGOTIATE_56]) f |= clientFlags & flag;
  return f >>> 0;
}

export interface NtlmMechanismOptions {
  /** The 8-byte server challenge; tests pin it to replay MS-NLMP's examples. Default: random. */
  serverChallenge?: () => Buffer;
}

/** What the Type 3 message is checked against. */
interface Challenged { serverChallenge: Buffer; flags: number; targetName: string }

type Verifier = (ntHash: Buffer) => boolean;

/** The two server steps (Type 1 in, Type 2 out; Type 3 in); the order is clientFirstExchange's. */
class NtlmServerSteps {
  constructor(private readonly name: string, private readonly ctx: SaslContext, private readonly opts: NtlmMechanismOptions) {}

  negotiate(input: Buffer): Challenge<Challenged> | FailureStep {
    const t1 = parseNegotiate(input);
    if (!t1.ok) return malformed(`Type 1: ${t1.reason}`);
    const flags = challengeFlags(t1.flags);
    const serverChallenge = this.opts.serverChallenge?.() ?? randomBytes(8);
    if (serverChallenge.length !== 8) throw new Error('NTLM server challenge must be 8 bytes');
    const targetName = netbiosName(this.ctx.serverName);
    const pairs: Array<[number, string]> = [[AV.NB_DOMAIN, targetName], [AV.NB_COMPUTER, targetName]];
    if (looksLikeDnsName(this.ctx.serverName)) {
      const dnsDomain = this.ctx.serverName.slice(this.ctx.serverName.indexOf('.') + 1);
      pairs.push([AV.DNS_DOMAIN, looksLikeDnsName(dnsDomain) ? dnsDomain : this.ctx.serverName], [AV.DNS_COMPUTER, this.ctx.serverName]);
    }
    return { data: buildChallenge({ flags, serverChallenge, targetName, targetInfo: buildTargetInfo(pairs) }), context: { serverChallenge, flags, targetName } };
  }

  /** Which computation the client's response calls for, or why it is refused. */
  private verifier(t3: Authenticate, state: Challenged): Verifier | string {
    const { nt, lm } = t3;
    if (nt.length > 24) {
      if (nt.length < NTLM_V2_MIN_RESPONSE) return 'NTLMv2 response too short';
      const temp = nt.subarray(16);
      // RespType and HiRespType MUST be 1 (MS-NLMP section 2.2.2.7).
      if (temp[0] !== 1 || temp[1] !== 1) return 'NTLMv2 blob has an unknown version';
      const proof = nt.subarray(0, 16);
      return (h) => safeEqual(ntProofStr(ntowfV2(h, t3.user, t3.domain), state.serverChallenge, temp), proof);
    }
    if (nt.length === 24) {
      if (!this.ctx.options.allowNtlmV1) return 'NTLMv1 response refused: NTLMv1 is not allowed on this server';
      if ((state.flags & F.EXTENDED_SESSIONSECURITY) !== 0) {
        // With ESS negotiated the LM field carries the client challenge (MS-NLMP section 3.3.1).
        if (lm.length !== 24) return 'NTLMv1 with extended session security needs the 24-byte LM field';
        const clientChallenge = lm.subarray(0, 8);
        return (h) => safeEqual(ntlmV1EssResponse(h, state.serverChallenge, clientChallenge), nt);
      }
      return (h) => safeEqual(ntlmV1Response(h, state.serverChallenge), nt);
    }
    return nt.length === 0 ? 'no NT response (LM-only or anonymous authentication is refused)' : 'NT response of an impossible length';
  }

  async authenticate(input: Buffer, state: Challenged): Promise<SaslStep> {
    const t3 = parseAuthenticate(input, (state.flags & F.UNICODE) !== 0);
    if (!t3.ok) return malformed(`Type 3: ${t3.reason}`);
    if ((t3.flags & F.ANONYMOUS) !== 0 || t3.user === '') return malformed('anonymous NTLM is refused');
    const verify = this.verifier(t3, state);
    if (typeof verify === 'string') return malformed(verify);
    const login = ntlmLogin(t3.user, t3.domain, state.targetName);
    if (login === '' || login.startsWith('@')) return malformed('no user name');
    const outcome = await this.ctx.port.authenticate({
      login,
      method: this.name,
      clearText: false,
      credential: {
        type: 'challenge',
        mechanism: this.name,
        needs: 'nt-hash',
        verify: (secret) => secret.kind === 'nt-hash' && secret.hash.length === 16 && verify(secret.hash),
      },
    });
    if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
    return { type: 'success', outcome, authcid: login };
  }
}

export function createNtlmMechanism(name: 'NTLM' | 'MSN', opts: NtlmMechanismOptions = {}): SaslMechanism {
  return {
    name,
    needs: 'lookup-credentials',
    clearText: false,
    advertiseGroup: name === 'NTLM' ? 'ntlm' : 'msn',
    start: (ctx) => {
      const steps = new NtlmServerSteps(name, ctx, opts);
      return clientFirstExchange({
        first: (message) => steps.negotiate(message),
        second: (message, state) => steps.authenticate(message, state),
        secondMissing: () => malformed('Type 3 message missing'),
        finished: () => malformed('exchange already finished'),
      });
    },
  };
}

export const ntlm = createNtlmMechanism('NTLM');
export const msn = createNtlmMechanism('MSN');
