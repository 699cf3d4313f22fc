/**
 * NTLM messages (MS-NLMP section 2.2.1): NEGOTIATE (Type 1) in, CHALLENGE (Type 2) out,
 * AUTHENTICATE (Type 3) in. Every field of a received message is a (length, max length, offset)
 * triple pointing into the same buffer: each one is checked to lie inside the buffer and past the
 * fixed header, and to respect a named length limit, before a single byte of it is read. The
 * parsers return values; nothing here throws on hostile input.
 */

export const NTLM_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** NegotiateFlags (MS-NLMP section 2.2.2.5): the ones this server reads or sets. */
export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

/** Largest NTLM message read. A Type 3 holds at most three names (NTLM_MAX_NAME_BYTES), an
 *  NTLMv2 response (NTLM_MAX_NT_RESPONSE), an LM response, a session key and an 88-byte header:
 *  about 4 KiB. 8 KiB leaves margin and keeps the parser's work bounded. */
export const NTLM_MAX_MESSAGE = 8192;

/** Longest user, domain or workstation field, in bytes (256 UTF-16 code units): Windows caps
 *  user names at 104 characters (UPNs at 256 with the domain) and NetBIOS names at 15. */
export const NTLM_MAX_NAME_BYTES = 512;

/** Longest NtChallengeResponse. An NTLMv2 response is 16 + 28 bytes plus the AV pairs the client
 *  copies from our TargetInfo (about 100 bytes) and adds (flags, timestamp, SPN, channel
 *  bindings, single-host: a few hundred). 2 KiB is far above any real one. */
export const NTLM_MAX_NT_RESPONSE = 2048;

/** LmChallengeResponse is 24 bytes (LMv1, LMv2 or the ESS client challenge); Z(1) when empty. */
export const NTLM_MAX_LM_RESPONSE = 24;

/** EncryptedRandomSessionKey is 16 bytes when KEY_EXCH is negotiated; we do not use it. */
export const NTLM_MAX_SESSION_KEY = 16;

/** The AUTHENTICATE_MESSAGE fixed part up to NegotiateFlags (MS-NLMP 2.2.1.3): 64 bytes. Clients
 *  that send Version and MIC use 88 bytes and start their payload there. */
export const NTLM_TYPE3_HEADER = 64;

export type NtlmParsed<T> = ({ ok: true } & T) | { ok: false; reason: string };
const bad = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function header(buf: Buffer, type: number, minLength: number): string | null {
  if (buf.length < minLength) return `type ${type} message shorter than ${minLength} bytes`;
  if (buf.length > NTLM_MAX_MESSAGE) return `message longer than NTLM_MAX_MESSAGE`;
  if (!buf.subarray(0, 8).equals(NTLM_SIGNATURE)) return 'no NTLMSSP signature';
  const t = buf.readUInt32LE(8);
  if (t !== type) return `expected a type ${type} message, got type ${t}`;
  return null;
}

/** A security buffer: (Len, MaxLen, Offset) at `at`. Checked against the buffer, the fixed
 *  header (a field may not alias it) and a limit. An empty field's offset is not looked at:
 *  clients put anything there. */
function field(buf: Buffer, at: number, headerEnd: number, limit: number, name: string): NtlmParsed<{ data: Buffer }> {
  const len = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (len === 0) return { ok: true, data: Buffer.alloc(0) };
  if (len > limit) return bad(`${name} longer than its limit (${len} > ${limit})`);
  if (offset < headerEnd) return bad(`${name} offset points into the fixed header`);
  if (offset + len > buf.length) return bad(`${name} runs past the end of the message`);
  return { ok: true, data: buf.subarray(offset, offset + len) };
}

export interface Negotiate { flags: number }

/** NEGOTIATE_MESSAGE. Old clients send only signature, type and flags (16 bytes); the domain and
 *  workstation fields, when present, are checked but not used: the identity comes from Type 3. */
export function parseNegotiate(buf: Buffer): NtlmParsed<Negotiate> {
  const h = header(buf, 1, 16);
  if (h !== null) return bad(h);
  const flags = buf.readUInt32LE(12);
  if (buf.length >= 32) {
    for (const [at, name] of [[16, 'domain'], [24, 'workstation']] as const) {
      const f = field(buf, at, 32, NTLM_MAX_NAME_BYTES, name);
      if (!f.ok) return f;
    }
  }
  return { ok: true, flags };
}

export interface ChallengeParams {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  targetInfo: Buffer;
}

/** CHALLENGE_MESSAGE without the Version field (we do not set NTLMSSP_NEGOTIATE_VERSION):
 *  48-byte header, then TargetName and TargetInfo. */
export function buildChallenge(p: ChallengeParams): Buffer {
  const unicode = (p.flags & NTLM_FLAGS.UNICODE) !== 0;
  const name = Buffer.from(p.targetName, unicode ? 'utf16le' : 'latin1');
  const h = Buffer.alloc(48);
  NTLM_SIGNATURE.copy(h, 0);
  h.writeUInt32LE(2, 8);
  h.writeUInt16LE(name.length, 12);
  h.writeUInt16LE(name.length, 14);
  h.writeUInt32LE(48, 16);
  h.writeUInt32LE(p.flags >>> 0, 20);
  p.serverChallenge.copy(h, 24, 0, 8);
  h.writeUInt16LE(p.targetInfo.length, 40);
  h.writeUInt16LE(p.targetInfo.length, 42);
  h.writeUInt32LE(48 + name.length, 44);
  return Buffer.concat([h, name, p.targetInfo]);
}

/** AV_PAIR ids (MS-NLMP section 2.2.2.1) used in our TargetInfo. */
export const AV = { EOL: 0, NB_COMPUTER: 1, NB_DOMAIN: 2, DNS_COMPUTER: 3, DNS_DOMAIN: 4, TIMESTAMP: 7 } as const;

/** TargetInfo: AV pairs of UTF-16LE strings, ended by MsvAvEOL. */
export function buildTargetInfo(pairs: Array<[number, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [id, value] of pairs) {
    const v = Buffer.from(value, 'utf16le');
    const h = Buffer.alloc(4);
    h.writeUInt16LE(id, 0);
    h.writeUInt16LE(v.length, 2);
    parts.push(h, v);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

export interface Authenticate {
  flags: number;
  unicode: boolean;
  lm: Buffer;
  nt: Buffer;
  domain: string;
  user: string;
  workstation: string;
}

const utf16 = new TextDecoder('utf-16le', { fatal: true });

/** A name field: UTF-16LE (even length, no unpaired surrogate) or OEM (read as Latin-1, which is
 *  the identity on bytes); no control characters, which would only serve to forge log lines or
 *  confuse name lookups. */
function decodeName(data: Buffer, unicode: boolean, name: string): NtlmParsed<{ text: string }> {
  let text: string;
  if (unicode) {
    if (data.length % 2 !== 0) return bad(`${name} has an odd length for UTF-16`);
    try {
      text = utf16.decode(data);
    } catch {
      return bad(`${name} is not valid UTF-16`);
    }
  } else {
    text = data.toString('latin1');
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return bad(`${name} contains control characters`);
  return { ok: true, text };
}

/**
 * AUTHENTICATE_MESSAGE. `negotiatedUnicode` is what our CHALLENGE said; the message's own
 * NTLMSSP_NEGOTIATE_UNICODE decides how its names are encoded, except for clients that send no
 * flags at all (zero), for which the negotiated choice stands.
 */
export function parseAuthenticate(buf: Buffer, negotiatedUnicode: boolean): NtlmParsed<Authenticate> {
  const h = header(buf, 3, NTLM_TYPE3_HEADER);
  if (h !== null) return bad(h);
  const flags = buf.readUInt32LE(60);
  const unicode = flags === 0 ? negotiatedUnicode : (flags & NTLM_FLAGS.UNICODE) !== 0;
  const lm = field(buf, 12, NTLM_TYPE3_HEADER, NTLM_MAX_LM_RESPONSE, 'LmChallengeResponse');
  if (!lm.ok) return lm;
  const nt = field(buf, 20, NTLM_TYPE3_HEADER, NTLM_MAX_NT_RESPONSE, 'NtChallengeResponse');
  if (!nt.ok) return nt;
  const domainF = field(buf, 28, NTLM_TYPE3_HEADER, NTLM_MAX_NAME_BYTES, 'DomainName');
  if (!domainF.ok) return domainF;
  const userF = field(buf, 36, NTLM_TYPE3_HEADER, NTLM_MAX_NAME_BYTES, 'UserName');
  if (!userF.ok) return userF;
  const wsF = field(buf, 44, NTLM_TYPE3_HEADER, NTLM_MAX_NAME_BYTES, 'Workstation');
  if (!wsF.ok) return wsF;
  const key = field(buf, 52, NTLM_TYPE3_HEADER, NTLM_MAX_SESSION_KEY, 'EncryptedRandomSessionKey');
  if (!key.ok) return key;
  const domain = decodeName(domainF.data, unicode, 'DomainName');
  if (!domain.ok) return domain;
  const user = decodeName(userF.data, unicode, 'UserName');
  if (!user.ok) return user;
  const workstation = decodeName(wsF.data, unicode, 'Workstation');
  if (!workstation.ok) return workstation;
  return { ok: true, flags, unicode, lm: lm.data, nt: nt.data, domain: domain.text, user: user.text, workstation: workstation.text };
}

export interface AuthenticateParams {
  flags: number;
  lm: Buffer;
  nt: Buffer;
  domain: string;
  user: string;
  workstation: string;
  sessionKey?: Buffer;
}

/** AUTHENTICATE_MESSAGE with the 64-byte header (no Version, no MIC), payload in field order.
 *  Used by the tests and by an NTLM client, should one be needed. */
export function buildAuthenticate(p: AuthenticateParams): Buffer {
  const unicode = (p.flags & NTLM_FLAGS.UNICODE) !== 0;
  const enc = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
  const payload = [p.lm, p.nt, enc(p.domain), enc(p.user), enc(p.workstation), p.sessionKey ?? Buffer.alloc(0)];
  const h = Buffer.alloc(NTLM_TYPE3_HEADER);
  NTLM_SIGNATURE.copy(h, 0);
  h.writeUInt32LE(3, 8);
  let offset = NTLM_TYPE3_HEADER;
  payload.forEach((data, i) => {
    const at = 12 + 8 * i;
    h.writeUInt16LE(data.length, at);
    h.writeUInt16LE(data.length, at + 2);
    h.writeUInt32LE(offset, at + 4);
    offset += data.length;
  });
  h.writeUInt32LE(p.flags >>> 0, 60);
  return Buffer.concat([h, ...payload]);
}
