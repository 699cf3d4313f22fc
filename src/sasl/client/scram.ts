/**
 * SCRAM-SHA-1 / SCRAM-SHA-256 (and -PLUS) client side (RFC 5802, RFC 7677), computed from a clear
 * password: the backend relay logs in with it, and the tests drive our server and gsasl --server
 * with it. The client authenticates the server too: the exchange is only good once the server's
 * v= has been checked (by `next` when it arrives as a challenge, or by `finish`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ChannelBindingType, ScramAlgorithm } from '../mechanism.js';
import { saslPrep, scramClientKeys, scramHashLength, scramNormalize } from '../../passwords/index.js';
import { clientProof, serverSignature } from '../mechs/scram/crypto.js';
import { encodeSaslname, parseServerFinal, parseServerFirst } from '../mechs/scram/messages.js';
import { decodeUtf8 } from '../text.js';
import { SaslClientError, type SaslClientCredentials, type SaslClientMechanism, type SaslClientStart } from './index.js';

/** Lowest iteration count we accept from a server. RFC 7677 section 4 asks for at least 4096; a
 *  server (or a man in the middle) offering fewer wants a proof it can brute-force cheaply. */
export const SCRAM_CLIENT_MIN_ITERATIONS = 4096;

/** Highest iteration count we compute: a hostile server must not make a relay burn CPU for
 *  minutes. gsasl's default is 65536, Dovecot's 4096; 2,000,000 is about a second of SHA-256. */
export const SCRAM_CLIENT_MAX_ITERATIONS = 2_000_000;

/** Bytes of randomness in our nonce: 18 bytes = 24 base64 characters. */
const CLIENT_NONCE_BYTES = 18;

export interface ScramClientOptions {
  /** Binding data of the TLS connection. With `plus` it is sent (p=type); without, the gs2 flag
   *  is "y" (we could bind, the server did not offer -PLUS), which lets a server that did
   *  advertise -PLUS detect a downgrade. */
  channelBinding?: { type: ChannelBindingType; data: Buffer };
  /** Use the -PLUS mechanism; needs `channelBinding`. */
  plus?: boolean;
  /** Our nonce; tests pin it to replay the RFC examples. Default: random. */
  clientNonce?: string;
}

type State =
  | { kind: 'new' }
  | { kind: 'first-sent'; bare: string; gs2Header: string; nonce: string }
  | { kind: 'final-sent'; expectedSignature: Buffer }
  | { kind: 'verified' }
  | { kind: 'failed' };

export class ScramClient implements SaslClientMechanism {
  readonly name: string;
  private state: State = { kind: 'new' };
  private readonly password: Buffer;
  private readonly username: string;
  private readonly gs2: string;
  /** The server-final data already verified, so a repeat of it in the success reply is fine. */
  private lastVerified: Buffer | undefined;

  constructor(private readonly alg: ScramAlgorithm, creds: SaslClientCredentials, private readonly opts: ScramClientOptions = {}) {
    if (opts.plus === true && opts.channelBinding === undefined) throw new SaslClientError('-PLUS needs channel-binding data');
    this.name = `SCRAM-${alg}${opts.plus === true ? '-PLUS' : ''}`;
    // RFC 5802 section 5.1: the user name is prepared as a query, the password as a stored string,
    // the latter exactly as the password module does for keys it stores or derives.
    const user = saslPrep(creds.authcid, 'query');
    if (user === null) throw new SaslClientError('user name fails SASLprep');
    const password = scramNormalize(Buffer.from(creds.password, 'utf8'));
    if (password === null) throw new SaslClientError('password fails SASLprep');
    this.username = user;
    this.password = password;
    const authz = creds.authzid !== undefined && creds.authzid !== '' ? `a=${encodeSaslname(creds.authzid)}` : '';
    this.gs2 = this.gs2Flag() + ',' + authz + ',';
  }

  private gs2Flag(): string {
    const cb = this.opts.channelBinding;
    if (this.opts.plus === true && cb) return `p=${cb.type}`;
    return cb ? 'y' : 'n';
  }

  start(): SaslClientStart {
    if (this.state.kind !== 'new') throw new SaslClientError('exchange already started');
    const nonce = this.opts.clientNonce ?? randomBytes(CLIENT_NONCE_BYTES).toString('base64');
    const bare = `n=${encodeSaslname(this.username)},r=${nonce}`;
    this.state = { kind: 'first-sent', bare, gs2Header: this.gs2, nonce };
    return { initial: Buffer.from(this.gs2 + bare, 'utf8') };
  }

  async next(challenge: Buffer): Promise<Buffer> {
    const state = this.state;
    this.state = { kind: 'failed' };
    if (state.kind === 'first-sent') {
      const out = await this.answerServerFirst(state, challenge);
      return out;
    }
    if (state.kind === 'final-sent') {
      // Protocols without data in their success reply (IMAP, SMTP) send v= as a last challenge,
      // answered with an empty response.
      this.checkServerFinal(state.expectedSignature, challenge);
      this.state = { kind: 'verified' };
      return Buffer.alloc(0);
    }
    throw new SaslClientError(`unexpected challenge in state ${state.kind}`);
  }

  /** True only when the server proved knowledge of ServerKey. `serverFinal` is the data of the
   *  success reply (null when it had none, because v= came as a challenge through `next`). A
   *  success without any verified v= is a server we could not authenticate: false. */
  finish(serverFinal: Buffer | null): boolean {
    const state = this.state;
    if (state.kind === 'verified') return serverFinal === null || serverFinal.length === 0 || this.sameFinalAgain(serverFinal);
    if (state.kind !== 'final-sent' || serverFinal === null) {
      this.state = { kind: 'failed' };
      return false;
    }
    try {
      this.checkServerFinal(state.expectedSignature, serverFinal);
    } catch {
      this.state = { kind: 'failed' };
      return false;
    }
    this.state = { kind: 'verified' };
    return true;
  }

  private sameFinalAgain(data: Buffer): boolean {
    return this.lastVerified !== undefined && data.equals(this.lastVerified);
  }

  private async answerServerFirst(state: Extract<State, { kind: 'first-sent' }>, challenge: Buffer): Promise<Buffer> {
    const text = decodeUtf8(challenge);
    if (text === null) throw new SaslClientError('server-first-message is not UTF-8');
    const sf = parseServerFirst(text);
    if (!sf.ok) throw new SaslClientError(`server-first-message: ${sf.error}: ${sf.detail}`);
    // The combined nonce must extend ours (RFC 5802 section 5.1), or this reply belongs to
    // another exchange.
    if (!sf.nonce.startsWith(state.nonce) || sf.nonce.length === state.nonce.length) throw new SaslClientError('server nonce does not extend ours');
    if (sf.iterations < SCRAM_CLIENT_MIN_ITERATIONS) throw new SaslClientError(`iteration count ${sf.iterations} below ${SCRAM_CLIENT_MIN_ITERATIONS}`);
    if (sf.iterations > SCRAM_CLIENT_MAX_ITERATIONS) throw new SaslClientError(`iteration count ${sf.iterations} above ${SCRAM_CLIENT_MAX_ITERATIONS}`);

    const cbData = this.opts.plus === true && this.opts.channelBinding ? this.opts.channelBinding.data : Buffer.alloc(0);
    const c = Buffer.concat([Buffer.from(state.gs2Header, 'utf8'), cbData]).toString('base64');
    const withoutProof = `c=${c},r=${sf.nonce}`;
    const authMessage = `${state.bare},${text},${withoutProof}`;
    const keys = await scramClientKeys(this.alg, this.password, sf.salt, sf.iterations);
    const proof = clientProof(this.alg, keys, authMessage);
    this.state = { kind: 'final-sent', expectedSignature: serverSignature(this.alg, keys.serverKey, authMessage) };
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  private checkServerFinal(expected: Buffer, data: Buffer): void {
    const text = decodeUtf8(data);
    if (text === null) throw new SaslClientError('server-final-message is not UTF-8');
    const sf = parseServerFinal(text);
    if (!sf.ok) throw new SaslClientError(`server-final-message: ${sf.error}: ${sf.detail}`);
    if (sf.final.kind === 'error') throw new SaslClientError(`server error: ${sf.final.value}`);
    const sig = sf.final.signature;
    if (sig.length !== scramHashLength(this.alg) || !timingSafeEqual(sig, expected)) throw new SaslClientError('server signature does not verify');
    this.lastVerified = Buffer.from(data);
  }
}

export const scramClient = (alg: ScramAlgorithm, creds: SaslClientCredentials, opts?: ScramClientOptions): ScramClient =>
  new ScramClient(alg, creds, opts);
