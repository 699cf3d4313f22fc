/**
 * SCRAM message syntax (RFC 5802 section 7), shared by the server mechanism and the client. Every
 * parser returns a value: `{ ok: false, error }` names the RFC 5802 `server-error-value` that fits
 * the fault, so a hostile message can only ever produce a clean failure. Nothing here throws.
 */
import { decodeBase64Strict } from '../../../core/base64.js';

/** The RFC 5802 section 7 `server-error-value` names (`e=` in a server-final-message). */
export type ScramErrorValue =
  | 'invalid-encoding'
  | 'extensions-not-supported'
  | 'invalid-proof'
  | 'channel-bindings-dont-match'
  | 'server-does-support-channel-binding'
  | 'channel-binding-not-supported'
  | 'unsupported-channel-binding-type'
  | 'unknown-user'
  | 'invalid-username-encoding'
  | 'no-resources'
  | 'other-error';

export interface ScramParseError { ok: false; error: ScramErrorValue; detail: string }
export type ScramParsed<T> = ({ ok: true } & T) | ScramParseError;

/** Longest SCRAM message we read. A client-first-message is a name and a nonce (well under 1 KiB);
 *  a client-final-message adds base64 of the gs2 header plus at most 64 bytes of binding data and
 *  a proof. Anything past 8 KiB is hostile padding meant to make us work. */
export const SCRAM_MAX_MESSAGE = 8192;

/** Longest nonce (client or server part). Real clients send 18-48 characters; a bound keeps the
 *  AuthMessage (hashed once per attempt) small. */
export const SCRAM_MAX_NONCE = 512;

/** Longest user name or authzid, in bytes after unescaping: a login is `local@domain` (64 + 1 +
 *  253 octets), with room for OS-style and alias names. */
export const SCRAM_MAX_NAME = 512;

export const fail = (error: ScramErrorValue, detail: string): ScramParseError => ({ ok: false, error, detail });

/**
 * RFC 5802 `saslname`: 1*(value-safe-char / "=2C" / "=3D"), where value-safe-char is any UTF-8
 * character except NUL, "=" and ",". RFC 5802 section 5.1: a "=" not followed by "2C" or "3D" MUST
 * fail the exchange.
 */
export function decodeSaslname(s: string): string | null {
  if (s.length === 0 || s.includes('\0') || s.includes(',')) return null;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== '=') {
      out += ch;
      continue;
    }
    const code = s.slice(i + 1, i + 3);
    if (code === '2C') out += ',';
    else if (code === '3D') out += '=';
    else return null;
    i += 2;
  }
  return out;
}

export function encodeSaslname(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** RFC 5802 `printable`: %x21-2B / %x2D-7E (no comma), the nonce alphabet. */
const NONCE_RE = /^[\x21-\x2b\x2d-\x7e]+$/;
export const isNonce = (s: string): boolean => s.length > 0 && NONCE_RE.test(s);

/** RFC 5802 `attr-val` of an extension: ALPHA "=" value, value = 1*value-char (no NUL, no ","). */
const EXT_RE = /^[A-Za-z]=[^\0,]+$/;

/** cb-name = 1*(ALPHA / DIGIT / "." / "-") (RFC 5056 section 7). */
const CB_NAME_RE = /^[A-Za-z0-9.-]+$/;

export type Gs2Flag =
  | { kind: 'n' }
  | { kind: 'y' }
  | { kind: 'p'; cbName: string };

export interface ClientFirst {
  flag: Gs2Flag;
  /** Decoded authzid (after =2C/=3D unescaping), absent when the client sent none. */
  authzid?: string;
  /** The gs2-header exactly as sent: `c=` must carry these bytes back (RFC 5802 section 7). */
  gs2Header: string;
  /** client-first-message-bare as sent: the start of the AuthMessage. */
  bare: string;
  /** Decoded user name, not yet SASLprep'ed. */
  username: string;
  clientNonce: string;
}

/** gs2-header = gs2-cbind-flag "," [ authzid ] "," ; client-first-message-bare follows. */
export function parseClientFirst(msg: string): ScramParsed<ClientFirst> {
  const c1 = msg.indexOf(',');
  const c2 = c1 < 0 ? -1 : msg.indexOf(',', c1 + 1);
  if (c1 < 0 || c2 < 0) return fail('invalid-encoding', 'no gs2 header');
  const flagText = msg.slice(0, c1);
  const authzText = msg.slice(c1 + 1, c2);
  const gs2Header = msg.slice(0, c2 + 1);
  const bare = msg.slice(c2 + 1);

  let flag: Gs2Flag;
  if (flagText === 'n') flag = { kind: 'n' };
  else if (flagText === 'y') flag = { kind: 'y' };
  else if (flagText.startsWith('p=')) {
    const cbName = flagText.slice(2);
    if (!CB_NAME_RE.test(cbName)) return fail('invalid-encoding', 'bad channel-binding name');
    flag = { kind: 'p', cbName };
  } else return fail('invalid-encoding', 'bad gs2-cbind-flag');

  let authzid: string | undefined;
  if (authzText !== '') {
    if (!authzText.startsWith('a=')) return fail('invalid-encoding', 'bad authzid attribute');
    const a = decodeSaslname(authzText.slice(2));
    if (a === null) return fail('invalid-encoding', 'bad authzid saslname');
    if (Buffer.byteLength(a) > SCRAM_MAX_NAME) return fail('invalid-encoding', 'authzid too long');
    authzid = a;
  }

  const parts = bare.split(',');
  // reserved-mext: "m=" before the user name means a mandatory extension we do not know.
  if (parts[0]?.startsWith('m=')) return fail('extensions-not-supported', 'mandatory extension m=');
  const nPart = parts[0] ?? '';
  const rPart = parts[1] ?? '';
  if (!nPart.startsWith('n=')) return fail('invalid-encoding', 'no username attribute');
  const username = decodeSaslname(nPart.slice(2));
  if (username === null) return fail('invalid-username-encoding', 'bad username saslname');
  if (Buffer.byteLength(username) > SCRAM_MAX_NAME) return fail('invalid-username-encoding', 'username too long');
  if (!rPart.startsWith('r=')) return fail('invalid-encoding', 'no nonce attribute');
  const clientNonce = rPart.slice(2);
  if (!isNonce(clientNonce)) return fail('invalid-encoding', 'bad nonce');
  if (clientNonce.length > SCRAM_MAX_NONCE) return fail('invalid-encoding', 'nonce too long');
  // Optional extensions are ignored (RFC 5802 section 5.1), but they must at least be well formed.
  for (const ext of parts.slice(2)) if (!EXT_RE.test(ext)) return fail('invalid-encoding', 'bad extension');

  return { ok: true, flag, ...(authzid !== undefined ? { authzid } : {}), gs2Header, bare, username, clientNonce };
}

export interface ClientFinal {
  /** Decoded `c=`: gs2 header followed by the channel-binding data for `p=`. */
  channelBinding: Buffer;
  nonce: string;
  /** client-final-message-without-proof as sent: the end of the AuthMessage. */
  withoutProof: string;
  proof: Buffer;
}

/** client-final-message = channel-binding "," nonce ["," extensions] "," proof */
export function parseClientFinal(msg: string): ScramParsed<ClientFinal> {
  const parts = msg.split(',');
  if (parts.length < 3) return fail('invalid-encoding', 'too few attributes');
  const cPart = parts[0] ?? '';
  const rPart = parts[1] ?? '';
  const pPart = parts[parts.length - 1] ?? '';
  if (!cPart.startsWith('c=')) return fail('invalid-encoding', 'no channel-binding attribute');
  const channelBinding = decodeBase64Strict(cPart.slice(2));
  if (channelBinding === null) return fail('invalid-encoding', 'bad channel-binding base64');
  if (!rPart.startsWith('r=')) return fail('invalid-encoding', 'no nonce attribute');
  const nonce = rPart.slice(2);
  if (!isNonce(nonce) || nonce.length > 2 * SCRAM_MAX_NONCE) return fail('invalid-encoding', 'bad nonce');
  for (const ext of parts.slice(2, -1)) {
    if (!EXT_RE.test(ext)) return fail('invalid-encoding', 'bad extension');
    // The proof is the last attribute: a second p= in the middle is a confused or hostile client.
    if (ext.startsWith('p=')) return fail('invalid-encoding', 'proof is not the last attribute');
  }
  if (!pPart.startsWith('p=')) return fail('invalid-encoding', 'no proof attribute');
  const proof = decodeBase64Strict(pPart.slice(2));
  if (proof === null || proof.length === 0) return fail('invalid-encoding', 'bad proof base64');
  return { ok: true, channelBinding, nonce, withoutProof: parts.slice(0, -1).join(','), proof };
}

export interface ServerFirst { nonce: string; salt: Buffer; iterations: number }

/** server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions] */
export function parseServerFirst(msg: string): ScramParsed<ServerFirst> {
  const parts = msg.split(',');
  if (parts[0]?.startsWith('m=')) return fail('extensions-not-supported', 'mandatory extension m=');
  const [rPart = '', sPart = '', iPart = ''] = parts;
  if (!rPart.startsWith('r=')) return fail('invalid-encoding', 'no nonce attribute');
  const nonce = rPart.slice(2);
  if (!isNonce(nonce) || nonce.length > 2 * SCRAM_MAX_NONCE) return fail('invalid-encoding', 'bad nonce');
  if (!sPart.startsWith('s=')) return fail('invalid-encoding', 'no salt attribute');
  const salt = decodeBase64Strict(sPart.slice(2));
  if (salt === null || salt.length === 0) return fail('invalid-encoding', 'bad salt');
  if (!iPart.startsWith('i=')) return fail('invalid-encoding', 'no iteration-count attribute');
  const iText = iPart.slice(2);
  // posit-number = %x31-39 *DIGIT; ten digits already exceed any sane count.
  if (!/^[1-9][0-9]{0,9}$/.test(iText)) return fail('invalid-encoding', 'bad iteration count');
  for (const ext of parts.slice(3)) if (!EXT_RE.test(ext)) return fail('invalid-encoding', 'bad extension');
  return { ok: true, nonce, salt, iterations: Number(iText) };
}

export type ServerFinal = { kind: 'verifier'; signature: Buffer } | { kind: 'error'; value: string };

/** server-final-message = (server-error / verifier) ["," extensions] */
export function parseServerFinal(msg: string): ScramParsed<{ final: ServerFinal }> {
  const parts = msg.split(',');
  const first = parts[0] ?? '';
  for (const ext of parts.slice(1)) if (!EXT_RE.test(ext)) return fail('invalid-encoding', 'bad extension');
  if (first.startsWith('e=')) {
    const value = first.slice(2);
    if (!/^[^\0,=]+$/.test(value)) return fail('invalid-encoding', 'bad server-error-value');
    return { ok: true, final: { kind: 'error', value } };
  }
  if (!first.startsWith('v=')) return fail('invalid-encoding', 'no verifier');
  const signature = decodeBase64Strict(first.slice(2));
  if (signature === null || signature.length === 0) return fail('invalid-encoding', 'bad verifier base64');
  return { ok: true, final: { kind: 'verifier', signature } };
}
