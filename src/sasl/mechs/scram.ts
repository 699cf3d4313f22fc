/**
 * SCRAM-SHA-1, SCRAM-SHA-256 (RFC 5802, RFC 7677) and their -PLUS channel-binding variants, server
 * side (A2). The server works from stored keys only (A9): it asks the port for salt and iteration
 * count (fake but stable ones for unknown names, so the reply does not reveal whether the account
 * exists), and the proof is checked inside the port's one `authenticate` call against StoredKey.
 *
 * Channel binding (RFC 5056, RFC 5929, RFC 9266): the binding data comes from the connection in
 * `ctx.channelBindings` (tls-exporter on TLS 1.3, tls-unique on TLS 1.2, tls-server-end-point on
 * both); the TLS layer offers only the types that are sound for the negotiated version, so a
 * type absent from that record is refused as unsupported.
 *
 * Downgrade protection (RFC 5802 section 6): a client that says "y" (I support binding, I think you
 * do not) is refused when this connection advertised a -PLUS mechanism, because a man in the
 * middle must have stripped it; a "p=" header on a non-PLUS mechanism is refused; a -PLUS mechanism
 * without "p=" is refused.
 *
 * Errors: a failure step's reason starts with the RFC 5802 `server-error-value` that fits
 * (`invalid-encoding: bad nonce`). The SaslStep failure carries no data and IMAP/POP3/SMTP failure
 * replies have no place for it, so `e=` is not sent on the wire; the client simply gets the
 * protocol's failure reply, which RFC 5802 allows.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { saslPrep } from '../../passwords/index.js';
import { clientFirstExchange, malformed as malformedStep, type Challenge, type FailureStep } from '../exchange.js';
import type { ChannelBindingType, SaslContext, SaslMechanism, SaslStep, ScramAlgorithm } from '../mechanism.js';
import { serverSignature, verifyClientProof } from './scram/crypto.js';
import {
  SCRAM_MAX_MESSAGE, parseClientFinal, parseClientFirst,
  type ClientFirst, type ScramErrorValue,
} from './scram/messages.js';
import { decodeUtf8 } from '../text.js';

/** Bytes of randomness in the server's nonce part: 18 bytes (144 bits) is 24 base64 characters,
 *  far beyond guessing, as RFC 5802 section 5.1 asks of a nonce. */
const SERVER_NONCE_BYTES = 18;

/** Largest iteration count we pass on from the store; a corrupt record must not make clients burn
 *  minutes of CPU. RFC 7677 recommends at least 4096; 10 million is far above any sane setting. */
const SCRAM_MAX_ITERATIONS = 10_000_000;

export const CHANNEL_BINDING_TYPES: readonly ChannelBindingType[] = ['tls-exporter', 'tls-unique', 'tls-server-end-point'];
const isChannelBindingType = (s: string): s is ChannelBindingType => (CHANNEL_BINDING_TYPES as readonly string[]).includes(s);

const malformed = (error: ScramErrorValue, detail: string): FailureStep => malformedStep(`${error}: ${detail}`);

export interface ScramMechanismOptions {
  /** The server nonce part; tests pin it to replay the RFC examples. Default: random. */
  serverNonce?: () => string;
}

/** What the client-final-message is checked against. */
interface FirstSent { first: ClientFirst; login: string; cbData: Buffer; nonce: string; serverFirst: string }

/** The two server steps; the order they run in is clientFirstExchange's. */
class ScramServerSteps {
  constructor(
    private readonly mech: { name: string; alg: ScramAlgorithm; plus: boolean },
    private readonly ctx: SaslContext,
    private readonly opts: ScramMechanismOptions,
  ) {}

  async first(input: Buffer): Promise<Challenge<FirstSent> | FailureStep> {
    if (input.length > SCRAM_MAX_MESSAGE) return malformed('invalid-encoding', 'client-first-message too long');
    const text = decodeUtf8(input);
    if (text === null) return malformed('invalid-encoding', 'not UTF-8');
    const first = parseClientFirst(text);
    if (!first.ok) return malformed(first.error, first.detail);

    let cbData: Buffer = Buffer.alloc(0);
    const flag = first.flag;
    if (this.mech.plus) {
      if (flag.kind !== 'p') return malformed('invalid-encoding', 'a -PLUS mechanism needs a p= channel-binding header');
      const data = isChannelBindingType(flag.cbName) ? this.ctx.channelBindings[flag.cbName] : undefined;
      if (data === undefined) return malformed('unsupported-channel-binding-type', `channel binding ${flag.cbName} is not available on this connection`);
      cbData = data;
    } else if (flag.kind === 'p') {
      return malformed('channel-binding-not-supported', 'p= header on a non-PLUS mechanism');
    } else if (flag.kind === 'y' && this.ctx.plusAdvertised) {
      // The client supports binding and believes we do not, yet we advertised -PLUS: downgrade.
      return malformed('server-does-support-channel-binding', 'y flag while a -PLUS mechanism was advertised');
    }

    const login = saslPrep(first.username, 'query');
    if (login === null) return malformed('invalid-username-encoding', 'user name fails SASLprep');

    const params = await this.ctx.port.scramParameters(login, this.mech.alg);
    if (params.salt.length === 0 || !Number.isInteger(params.iterations) || params.iterations < 1 || params.iterations > SCRAM_MAX_ITERATIONS) {
      return { type: 'failure', failure: { status: 'temporary-failure', reason: 'unusable SCRAM parameters from the store' } };
    }
    const serverNonce = this.opts.serverNonce?.() ?? randomBytes(SERVER_NONCE_BYTES).toString('base64');
    const nonce = first.clientNonce + serverNonce;
    const serverFirst = `r=${nonce},s=${params.salt.toString('base64')},i=${params.iterations}`;
    return { data: Buffer.from(serverFirst, 'utf8'), context: { first, login, cbData, nonce, serverFirst } };
  }

  async final(input: Buffer, state: FirstSent): Promise<SaslStep> {
    if (input.length > SCRAM_MAX_MESSAGE) return malformed('invalid-encoding', 'client-final-message too long');
    const text = decodeUtf8(input);
    if (text === null) return malformed('invalid-encoding', 'not UTF-8');
    const fin = parseClientFinal(text);
    if (!fin.ok) return malformed(fin.error, fin.detail);
    if (fin.nonce !== state.nonce) return malformed('other-error', 'nonce does not match');

    const expected = Buffer.concat([Buffer.from(state.first.gs2Header, 'utf8'), state.cbData]);
    if (fin.channelBinding.length !== expected.length || !timingSafeEqual(fin.channelBinding, expected)) {
      return malformed('channel-bindings-dont-match', 'c= differs from the gs2 header and channel-binding data');
    }

    const authMessage = `${state.first.bare},${state.serverFirst},${fin.withoutProof}`;
    const alg = this.mech.alg;
    let signature: Buffer | undefined;
    const outcome = await this.ctx.port.authenticate({
      login: state.login,
      ...(state.first.authzid !== undefined ? { authzid: state.first.authzid } : {}),
      method: this.mech.name,
      clearText: false,
      credential: {
        type: 'challenge',
        mechanism: this.mech.name,
        needs: alg === 'SHA-1' ? 'scram-sha-1' : 'scram-sha-256',
        verify: (secret) => {
          if (secret.kind !== 'scram' || secret.algorithm !== alg) return false;
          if (!verifyClientProof(alg, secret.storedKey, authMessage, fin.proof)) return false;
          signature = serverSignature(alg, secret.serverKey, authMessage);
          return true;
        },
      },
    });
    if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
    // The engine said yes without our proof check having passed: never send a verifier we do
    // not have, and never let such an engine bug turn into a login.
    if (signature === undefined) return { type: 'failure', failure: { status: 'temporary-failure', reason: 'proof was not verified' } };
    return {
      type: 'success',
      outcome,
      authcid: state.login,
      ...(state.first.authzid !== undefined ? { authzid: state.first.authzid } : {}),
      serverData: Buffer.from(`v=${signature.toString('base64')}`, 'utf8'),
    };
  }
}

export function createScramMechanism(alg: ScramAlgorithm, plus: boolean, opts: ScramMechanismOptions = {}): SaslMechanism {
  const name = `SCRAM-${alg}${plus ? '-PLUS' : ''}`;
  const mech = { name, alg, plus };
  return {
    name,
    needs: 'lookup-credentials',
    clearText: false,
    advertiseGroup: 'secure',
    ...(plus ? { plus: true } : {}),
    start: (ctx) => {
      const steps = new ScramServerSteps(mech, ctx, opts);
      return clientFirstExchange({
        first: (message) => steps.first(message),
        second: (message, state) => steps.final(message, state),
        secondMissing: () => malformed('other-error', 'client-final-message missing'),
        finished: () => malformed('other-error', 'exchange already finished'),
      });
    },
  };
}

export const scramSha1 = createScramMechanism('SHA-1', false);
export const scramSha1Plus = createScramMechanism('SHA-1', true);
export const scramSha256 = createScramMechanism('SHA-256', false);
export const scramSha256Plus = createScramMechanism('SHA-256', true);
