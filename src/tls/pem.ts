/**
 * Reading pasted PEM text (RFC 7468, with the RFC 1421 headers that OpenSSL still writes on
 * legacy encrypted keys). Administrators paste from mails, web pages and `openssl x509 -text`
 * output, so text around the blocks is ignored; inside a block we are strict, because a block we
 * half-understand is a certificate or key we would store wrongly.
 */

/** Largest paste we look at: a chain of ten 4096-bit certificates is about 20 KiB; 256 KiB leaves
 *  room for `-text` dumps around them while bounding what one form post can make us parse. */
export const PEM_MAX_INPUT = 256 * 1024;

/** Most blocks in one paste: real chains have 2-5 certificates; more is a mistake or an attack
 *  on the per-certificate signature checks that follow. */
export const PEM_MAX_BLOCKS = 16;

export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`, `RSA PRIVATE KEY`. */
  label: string;
  /** RFC 1421 encapsulated headers (`Proc-Type`, `DEK-Info`), present on legacy encrypted keys. */
  headers: Record<string, string>;
  der: Buffer;
}

export type PemParseResult =
  | { status: 'ok'; blocks: PemBlock[] }
  | { status: 'error'; message: string };

const BEGIN = /^-----BEGIN ([A-Z0-9][A-Z0-9 #/-]{0,62})-----$/;
const END = /^-----END ([A-Z0-9][A-Z0-9 #/-]{0,62})-----$/;
const HEADER = /^([A-Za-z][A-Za-z0-9-]{0,63}):\s*(.*)$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Splits pasted text into PEM blocks. Never throws; every failure names the block and line. */
export function parsePem(text: string): PemParseResult {
  if (typeof text !== 'string') return { status: 'error', message: 'the input is not text' };
  if (text.length > PEM_MAX_INPUT) return { status: 'error', message: `the text is longer than ${PEM_MAX_INPUT} characters` };
  const lines = text.split(/\r\n|\r|\n/);
  const blocks: PemBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = (lines[i] ?? '').trim();
    i += 1;
    if (!line.startsWith('-----')) continue; // text around blocks: comments, `-text` dumps
    const begin = BEGIN.exec(line);
    if (!begin) {
      if (END.test(line)) return { status: 'error', message: `line ${i}: an END line without its BEGIN line` };
      continue;
    }
    const label = begin[1] ?? '';
    const startLine = i;
    const headers: Record<string, string> = {};
    const body: string[] = [];
    let closed = false;
    let inHeaders = true;
    while (i < lines.length) {
      const raw = lines[i] ?? '';
      const l = raw.trim();
      i += 1;
      if (l.startsWith('-----')) {
        const end = END.exec(l);
        if (!end) return { status: 'error', message: `line ${i}: the "${label}" block begun on line ${startLine} is not closed` };
        if (end[1] !== label) return { status: 'error', message: `line ${i}: "END ${end[1] ?? ''}" closes a "BEGIN ${label}" block` };
        closed = true;
        break;
      }
      if (inHeaders) {
        const h = HEADER.exec(l);
        if (h && body.length === 0) {
          headers[(h[1] ?? '').toLowerCase()] = (h[2] ?? '').trim();
          continue;
        }
        inHeaders = false;
        if (l.length === 0) continue; // the blank line that ends RFC 1421 headers
      }
      if (l.length === 0) continue;
      if (!BASE64_LINE.test(l)) return { status: 'error', message: `line ${i}: characters that are not base64 inside the "${label}" block` };
      body.push(l);
    }
    if (!closed) return { status: 'error', message: `the "${label}" block begun on line ${startLine} has no END line` };
    const b64 = body.join('');
    // Padding only at the very end, and a length base64 can have: Buffer.from would otherwise
    // silently skip the junk and hand us different bytes than the sender meant.
    if (b64.length === 0) return { status: 'error', message: `the "${label}" block begun on line ${startLine} is empty` };
    if (b64.length % 4 !== 0 || /=[^=]/.test(b64)) {
      return { status: 'error', message: `the "${label}" block begun on line ${startLine} is not valid base64 (truncated or damaged)` };
    }
    if (blocks.length >= PEM_MAX_BLOCKS) return { status: 'error', message: `more than ${PEM_MAX_BLOCKS} PEM blocks` };
    blocks.push({ label, headers, der: Buffer.from(b64, 'base64') });
  }
  return { status: 'ok', blocks };
}

/** The PEM text of one block: 64-character lines, as RFC 7468 §2 asks of generators. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
