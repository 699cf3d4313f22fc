/**
 * DIGEST-MD5 (RFC 2831), initial authentication with qop=auth only (no security layer; RFC 6331
 * moved it to Historic, but curl, gsasl, swaks and Cyrus clients still use it).
 *
 * The challenge emits `charset=utf-8` and `algorithm=md5-sess` unquoted: RFC 2831's grammar has
 * them as tokens, and curl cancels the exchange when they are quoted. The response is parsed
 * strictly: quoted strings with escapes, duplicate directives refused, every size bounded. The
 * server checks nonce, nc, qop, realm and digest-uri, then proves itself with rspauth, returned
 * as the final server data.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { malformed, serverFirstExchange } from '../exchange.js';
import { decodeUtf8 } from '../text.js';
import type { CredentialValue, SaslExchange, SaslMechanism, SaslStep } from '../mechanism.js';

/** RFC 2831 §2.1.2: "The size of a digest-response MUST be less than 4096 bytes." */
export const DIGEST_MAX_RESPONSE = 4095;
/** Longest single directive value: user names (`name@domain`, 509 octets) and cnonces fit;
 *  nothing legitimate needs more. */
export const DIGEST_MAX_VALUE = 1024;
/** Most directives in a response: RFC 2831 defines 13; a client sending dozens of unknown
 *  auth-params is probing the parser. */
export const DIGEST_MAX_DIRECTIVES = 32;
/** Longest user name or authzid, in octets: `name@domain` with a 255-octet name and a
 *  253-octet domain. */
export const DIGEST_MAX_IDENTITY = 512;
/** Server nonce: RFC 2831 asks for at least 64 bits of entropy; 192 bits, base64 without padding. */
export const DIGEST_NONCE_BYTES = 24;

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const HEX_DIGEST = /^[0-9a-fA-F]{32}$/;

export type DirectiveParse = { ok: true; directives: Map<string, string> } | { ok: false; reason: string };

function isLws(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/**
 * RFC 2831 §7.1 `1#( name "=" ( token | quoted-string ) )`: names are case-insensitive tokens,
 * empty list elements are allowed, LWS may surround separators. Values come back as latin1
 * strings (one character per octet), so the caller decides on the charset and can hash the
 * exact octets the client hashed.
 */
export function parseDirectives(text: string): DirectiveParse {
  const directives = new Map<string, string>();
  let i = 0;
  const n = text.length;
  const skipLws = (): void => {
    while (i < n && isLws(text[i])) i++;
  };
  for (;;) {
    skipLws();
    while (i < n && text[i] === ',') {
      i++;
      skipLws();
    }
    if (i >= n) break;
    const nameStart = i;
    while (i < n && TOKEN_CHAR.test(text[i] as string)) i++;
    if (i === nameStart) return { ok: false, reason: 'expected a directive name' };
    const name = text.slice(nameStart, i).toLowerCase();
    skipLws();
    if (text[i] !== '=') return { ok: false, reason: `expected "=" after ${name}` };
    i++;
    skipLws();
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i] as string;
        if (c === '\\') {
          // quoted-pair = "\" CHAR: the next octet is taken literally (only US-ASCII).
          const next = text[i + 1];
          if (next === undefined) return { ok: false, reason: 'unterminated escape' };
          if (next.charCodeAt(0) > 0x7f) return { ok: false, reason: 'escaped non-ASCII octet' };
          value += next;
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          // qdtext = any TEXT except <">; TEXT excludes control characters (CTL) but allows LWS.
          const code = c.charCodeAt(0);
          if ((code < 0x20 && c !== '\t' && c !== '\r' && c !== '\n') || code === 0x7f) return { ok: false, reason: 'control character in quoted string' };
          value += c;
          i++;
        }
        if (value.length > DIGEST_MAX_VALUE) return { ok: false, reason: `${name} too long` };
      }
      if (!closed) return { ok: false, reason: 'unterminated quoted string' };
    } else {
      const valueStart = i;
      while (i < n && TOKEN_CHAR.test(text[i] as string)) i++;
      value = text.slice(valueStart, i);
      if (value.length === 0) return { ok: false, reason: `empty value for ${name}` };
      if (value.length > DIGEST_MAX_VALUE) return { ok: false, reason: `${name} too long` };
    }
    // RFC 2831 §2.1.2: each directive may appear at most once; a repeat is how a client
    // could make two parsers (ours and a log reader's, or the engine's) see different values.
    if (directives.has(name)) return { ok: false, reason: `duplicate directive ${name}` };
    if (directives.size >= DIGEST_MAX_DIRECTIVES) return { ok: false, reason: 'too many directives' };
    directives.set(name, value);
    skipLws();
    if (i < n && text[i] !== ',') return { ok: false, reason: `expected "," after ${name}` };
  }
  return { ok: true, directives };
}

function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => '\\' + c)}"`;
}

export function buildDigestChallenge(realm: string, nonce: string): string {
  return `realm=${quote(realm)},nonce=${quote(nonce)},qop="auth",charset=utf-8,algorithm=md5-sess`;
}

const md5 = (...parts: (Buffer | string)[]): Buffer => {
  const h = createHash('md5');
  for (const p of parts) h.update(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  return h.digest();
};

export interface DigestInputs {
  /** Octets as the client sent them (after unquoting). */
  username: Buffer;
  realm: Buffer;
  password: Buffer;
  nonce: string;
  cnonce: string;
  nc: string;
  qop: string;
  digestUri: string;
  authzid?: Buffer;
}

/** RFC 2831 §2.1.2.1 response-value (`AUTHENTICATE:` A2) and §2.1.3 rspauth (`:` A2), as hex. */
export function digestMd5Values(v: DigestInputs): { response: string; rspauth: string } {
  const inner = md5(v.username, ':', v.realm, ':', v.password);
  const a1 = v.authzid !== undefined
    ? md5(inner, `:${v.nonce}:${v.cnonce}:`, v.authzid)
    : md5(inner, `:${v.nonce}:${v.cnonce}`);
  const ha1 = a1.toString('hex');
  const kd = (a2: string): string => md5(`${ha1}:${v.nonce}:${v.nc}:${v.cnonce}:${v.qop}:`, md5(a2).toString('hex')).toString('hex');
  return { response: kd(`AUTHENTICATE:${v.digestUri}`), rspauth: kd(`:${v.digestUri}`) };
}

/**
 * RFC 2831 §2.1.2.1: with charset=utf-8 the client hashes UTF-8; without it, strings that fit
 * ISO 8859-1 are hashed in ISO 8859-1. The stored password is UTF-8.
 */
export function passwordOctets(stored: Buffer, utf8Charset: boolean): Buffer {
  if (utf8Charset) return stored;
  const text = stored.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(stored) && [...text].every((c) => (c.codePointAt(0) ?? 0) <= 0xff)) {
    return Buffer.from(text, 'latin1');
  }
  return stored;
}

function identityFrom(latin1Value: string, utf8Charset: boolean): string | null {
  const octets = Buffer.from(latin1Value, 'latin1');
  if (octets.length === 0 || octets.length > DIGEST_MAX_IDENTITY) return null;
  const s = utf8Charset ? decodeUtf8(octets) : latin1Value;
  return s === null || /[\0-\x1f\x7f]/.test(s) ? null : s;
}

export type DigestResponseCheck =
  | { ok: true; username: string; authzid?: string; inputs: Omit<DigestInputs, 'password'>; response: Buffer; utf8Charset: boolean }
  | { ok: false; reason: string };

/** Everything about a response that does not need the password; exported for the malformed table. */
export function checkDigestResponse(input: Buffer, expected: { nonce: string; realm: string; service: string; host: string }): DigestResponseCheck {
  if (input.length > DIGEST_MAX_RESPONSE) return { ok: false, reason: 'response too long' };
  if (input.includes(0)) return { ok: false, reason: 'NUL in response' };
  const parsed = parseDirectives(input.toString('latin1'));
  if (!parsed.ok) return parsed;
  const d = parsed.directives;
  const charset = d.get('charset');
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8') return { ok: false, reason: 'unsupported charset' };
  const utf8Charset = charset !== undefined;
  for (const required of ['username', 'nonce', 'cnonce', 'nc', 'digest-uri', 'response']) {
    if (!d.has(required)) return { ok: false, reason: `missing ${required}` };
  }
  const qop = d.get('qop') ?? 'auth';
  // Only "auth" was offered; auth-int/auth-conf would need a security layer we do not provide.
  if (qop !== 'auth') return { ok: false, reason: 'qop not offered' };
  const nonce = d.get('nonce') as string;
  if (nonce !== expected.nonce) return { ok: false, reason: 'nonce mismatch' };
  // Initial authentication only: the first use of a nonce counts 1 (RFC 2831 §2.1.2).
  const nc = d.get('nc') as string;
  if (nc !== '00000001') return { ok: false, reason: 'nonce count is not 00000001' };
  const cnonce = d.get('cnonce') as string;
  if (cnonce.length === 0) return { ok: false, reason: 'empty cnonce' };
  const realm = d.get('realm');
  // RFC 2831: a missing realm is the empty string in A1; a present one must be the one offered.
  if (realm !== undefined && realm !== Buffer.from(expected.realm, 'utf8').toString('latin1')) return { ok: false, reason: 'realm not offered' };
  const digestUri = d.get('digest-uri') as string;
  const uriParts = digestUri.split('/');
  if (uriParts.length < 2 || uriParts.length > 3) return { ok: false, reason: 'malformed digest-uri' };
  const [servType = '', host = '', servName] = uriParts;
  // The digest-uri binds the response to this service on this host, so a response captured
  // at another server (or for another protocol) is useless here.
  if (servType.toLowerCase() !== expected.service.toLowerCase()) return { ok: false, reason: 'digest-uri service mismatch' };
  if (host.toLowerCase() !== expected.host.toLowerCase()) return { ok: false, reason: 'digest-uri host mismatch' };
  if (servName !== undefined && servName.toLowerCase() !== expected.host.toLowerCase()) return { ok: false, reason: 'digest-uri serv-name mismatch' };
  const responseHex = d.get('response') as string;
  if (!HEX_DIGEST.test(responseHex)) return { ok: false, reason: 'response is not 32 hex digits' };
  const username = identityFrom(d.get('username') as string, utf8Charset);
  if (username === null) return { ok: false, reason: 'bad username' };
  const authzidRaw = d.get('authzid');
  let authzid: string | undefined;
  if (authzidRaw !== undefined && authzidRaw !== '') {
    const a = identityFrom(authzidRaw, utf8Charset);
    if (a === null) return { ok: false, reason: 'bad authzid' };
    authzid = a;
  }
  const inputs: Omit<DigestInputs, 'password'> = {
    username: Buffer.from(d.get('username') as string, 'latin1'),
    realm: Buffer.from(realm ?? '', 'latin1'),
    nonce,
    cnonce,
    nc,
    qop,
    digestUri,
  };
  // An authzid directive, even empty, is part of A1 exactly as sent.
  if (authzidRaw !== undefined) inputs.authzid = Buffer.from(authzidRaw, 'latin1');
  const check: DigestResponseCheck = { ok: true, username, inputs, response: Buffer.from(responseHex, 'hex'), utf8Charset };
  if (authzid !== undefined) check.authzid = authzid;
  return check;
}

export function randomDigestNonce(): string {
  return randomBytes(DIGEST_NONCE_BYTES).toString('base64');
}

/** The mechanism with an injectable nonce source: tests replay the RFC 2831 example. */
export function createDigestMd5(newNonce: () => string): SaslMechanism {
  return {
    name: 'DIGEST-MD5',
    needs: 'lookup-credentials',
    clearText: false,
    advertiseGroup: 'secure',
    start(ctx): SaslExchange {
      return serverFirstExchange({
        // An initial response would be RFC 2831 §2.2 subsequent authentication, which needs
        // server-side nonce state we do not keep.
        initialResponseRefused: 'subsequent authentication not supported',
        challenge: () => {
          const nonce = newNonce();
          return { data: Buffer.from(buildDigestChallenge(ctx.serverName, nonce), 'utf8'), context: nonce };
        },
        respond: async (response, nonce) => {
          const checked = checkDigestResponse(response, { nonce, realm: ctx.serverName, service: ctx.service, host: ctx.serverName });
          if (!checked.ok) return malformed(checked.reason);
          let rspauth: string | null = null;
          const verify = (secret: CredentialValue): boolean => {
            if (secret.kind !== 'clear') return false;
            const values = digestMd5Values({ ...checked.inputs, password: passwordOctets(secret.password, checked.utf8Charset) });
            if (!timingSafeEqual(Buffer.from(values.response, 'hex'), checked.response)) return false;
            rspauth = values.rspauth;
            return true;
          };
          const req: Parameters<typeof ctx.port.authenticate>[0] = {
            login: checked.username,
            method: 'DIGEST-MD5',
            clearText: false,
            credential: { type: 'challenge', mechanism: 'DIGEST-MD5', needs: 'clear', verify },
          };
          if (checked.authzid !== undefined) req.authzid = checked.authzid;
          const outcome = await ctx.port.authenticate(req);
          if (outcome.status !== 'ok') return { type: 'failure', failure: outcome };
          // The engine may accept through another password source (OS, external) that never
          // ran `verify`: then we cannot prove ourselves to the client, and must not pretend.
          if (rspauth === null) return { type: 'failure', failure: { status: 'temporary-failure', reason: 'DIGEST-MD5 needs the clear password' } };
          const step: SaslStep = { type: 'success', outcome, authcid: checked.username, serverData: Buffer.from(`rspauth=${rspauth}`, 'ascii') };
          if (checked.authzid !== undefined) step.authzid = checked.authzid;
          return step;
        },
      });
    },
  };
}

export const digestMd5: SaslMechanism = createDigestMd5(randomDigestNonce);
