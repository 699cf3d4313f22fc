/**
 * The one strict UTF-8 decoding of what SASL clients send (user names, PLAIN fields, SCRAM
 * messages, DIGEST-MD5 values with charset=utf-8): an invalid sequence gives null, never a
 * U+FFFD, which would make two different byte strings read as the same name. A leading U+FEFF
 * (byte-order mark) is dropped: TextDecoder's default, kept as the mechanisms always had it.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(data: Uint8Array): string | null {
  try {
    return utf8.decode(data);
  } catch {
    return null;
  }
}
