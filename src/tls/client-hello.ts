/**
 * Reads just enough of a TLS ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) to learn which
 * ticket key a resuming client's ticket was issued under - the first 16 bytes of an OpenSSL ticket
 * are the key name (RFC 5077 §4's recommended format) - and the SNI name, for logs. Node holds one
 * ticket key per secure context, so this is how a connection that presents a ticket under the
 * previous key reaches the contexts that still hold it (see sessions.ts). It also learns whether
 * the client offers TLS 1.3 (supported_versions, RFC 8446 §4.2.1): such a connection resumes by
 * tickets only, so it needs none of the session-ID store's work (sessions.ts).
 *
 * The reader only looks: it never decides to refuse a connection. Anything it does not understand
 * (a hello split over records, SSLv2 framing, garbage) yields `unparsed`, and OpenSSL, which parses
 * the hello for real, decides. Every length is checked against what remains, so hostile input can
 * only produce `unparsed`.
 */

/** The bytes we wait for before handing the connection to OpenSSL: one TLS record header plus the
 *  largest plaintext record (RFC 8446 §5.1: 2^14). A ClientHello that needs more is split over
 *  records, which this reader does not follow. */
export const CLIENT_HELLO_MAX_BYTES = 5 + 16384;

/** TLS 1.3's version number on the wire (RFC 8446 §4.2.1). */
const TLS13_VERSION = 0x0304;

export type ClientHelloInfo =
  | { status: 'ok'; serverName?: string; ticketKeyName?: Buffer; offersTls13?: true }
  /** More bytes are needed to read the first record. */
  | { status: 'incomplete' }
  /** Not a ClientHello we can read; OpenSSL will decide what it is. */
  | { status: 'unparsed'; reason: string };

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end: number) {}
  left(): number { return this.end - this.pos; }
  u8(): number | null { if (this.left() < 1) return null; return this.buf[this.pos++] ?? null; }
  u16(): number | null { if (this.left() < 2) return null; const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  u24(): number | null { if (this.left() < 3) return null; const v = this.buf.readUIntBE(this.pos, 3); this.pos += 3; return v; }
  bytes(n: number): Buffer | null { if (n < 0 || this.left() < n) return null; const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  skip(n: number): boolean { return this.bytes(n) !== null; }
}

export function readClientHello(data: Buffer): ClientHelloInfo {
  if (data.length < 5) return { status: 'incomplete' };
  if (data[0] !== 22) return { status: 'unparsed', reason: 'not a handshake record' };
  if (data[1] !== 3) return { status: 'unparsed', reason: 'not a TLS record version' };
  const recordLength = data.readUInt16BE(3);
  if (recordLength === 0 || recordLength > 16384 + 256) return { status: 'unparsed', reason: 'bad record length' };
  if (data.length < 5 + recordLength) return { status: 'incomplete' };
  const r = new Reader(data, 5 + recordLength);
  r.pos = 5;
  if (r.u8() !== 1) return { status: 'unparsed', reason: 'first handshake message is not a ClientHello' };
  const helloLength = r.u24();
  if (helloLength === null || helloLength > r.left()) return { status: 'unparsed', reason: 'ClientHello continues in another record' };
  const h = new Reader(data, r.pos + helloLength);
  h.pos = r.pos;
  if (!h.skip(2 + 32)) return { status: 'unparsed', reason: 'short ClientHello' }; // version, random
  const sid = h.u8();
  if (sid === null || sid > 32 || !h.skip(sid)) return { status: 'unparsed', reason: 'bad session id' };
  const suites = h.u16();
  if (suites === null || !h.skip(suites)) return { status: 'unparsed', reason: 'bad cipher suites' };
  const comp = h.u8();
  if (comp === null || !h.skip(comp)) return { status: 'unparsed', reason: 'bad compression methods' };
  if (h.left() === 0) return { status: 'ok' }; // a hello without extensions (RFC 5246 allows it)
  const extLength = h.u16();
  if (extLength === null || extLength > h.left()) return { status: 'unparsed', reason: 'bad extensions length' };
  const out: { status: 'ok'; serverName?: string; ticketKeyName?: Buffer; offersTls13?: true } = { status: 'ok' };
  const e = new Reader(data, h.pos + extLength);
  e.pos = h.pos;
  while (e.left() > 0) {
    const type = e.u16();
    const len = e.u16();
    if (type === null || len === null) return { status: 'unparsed', reason: 'truncated extension header' };
    const body = e.bytes(len);
    if (body === null) return { status: 'unparsed', reason: 'truncated extension' };
    const x = new Reader(body, body.length);
    if (type === 0 && len > 0) { // server_name, RFC 6066 §3
      const listLen = x.u16();
      if (listLen === null || listLen > x.left()) return { status: 'unparsed', reason: 'bad server_name list' };
      const nameType = x.u8();
      const nameLen = x.u16();
      const name = nameLen === null ? null : x.bytes(nameLen);
      if (nameType !== 0 || name === null) return { status: 'unparsed', reason: 'bad server_name entry' };
      out.serverName = name.toString('latin1');
    } else if (type === 35 && len >= 16) { // session_ticket, RFC 5077: the ticket is the body
      out.ticketKeyName = Buffer.from(body.subarray(0, 16));
    } else if (type === 41) { // pre_shared_key, RFC 8446 §4.2.11: the first identity is the ticket
      const idsLen = x.u16();
      const idLen = x.u16();
      const id = idLen === null ? null : x.bytes(idLen);
      if (idsLen === null || id === null) return { status: 'unparsed', reason: 'bad pre_shared_key' };
      if (id.length >= 16) out.ticketKeyName = Buffer.from(id.subarray(0, 16));
    } else if (type === 43) { // supported_versions, RFC 8446 §4.2.1: u8 length, then u16 versions
      const listLen = x.u8();
      if (listLen === null || listLen !== x.left() || listLen % 2 !== 0) return { status: 'unparsed', reason: 'bad supported_versions' };
      for (let v = x.u16(); v !== null; v = x.u16()) if (v === TLS13_VERSION) out.offersTls13 = true;
    }
  }
  return out;
}
