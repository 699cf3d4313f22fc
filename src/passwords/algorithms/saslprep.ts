/**
 * SASLprep (RFC 4013), which SCRAM applies to the password before PBKDF2 (RFC 5802 section 2.2,
 * "Normalize"). The server must derive keys from the same string the client does, or non-ASCII
 * passwords never match. Implemented: the mapping step (B.1 to nothing, C.1.2 to SPACE), NFKC,
 * and the prohibited-output tables C.1.2-C.9. Not implemented: the bidirectional rule and the
 * unassigned-code-point check, which only refuse strings; skipping them makes us accept some
 * strings a strict client would refuse itself, never derive different keys from an accepted one.
 * The tables are code-point ranges (not regular expressions: many entries are combining or
 * joining characters that a character class would misread).
 */

type Ranges = readonly (readonly [number, number])[];

/** RFC 3454 B.1, "commonly mapped to nothing". */
const B1: Ranges = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d],
  [0x2060, 0x2060], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/** RFC 3454 C.1.2, non-ASCII spaces, mapped to SPACE by RFC 4013 section 2.1 (U+200B is also in
 *  B.1 and removed first, as most implementations do). */
const C12: Ranges = [[0x00a0, 0x00a0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000]];

/** RFC 3454 C.2.1 to C.9: prohibited in the output (C.1.2 as well, checked after mapping). */
const PROHIBITED: Ranges = [
  ...C12,
  [0x0000, 0x001f], [0x007f, 0x007f], // C.2.1
  [0x0080, 0x009f], [0x06dd, 0x06dd], [0x070f, 0x070f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029],
  [0x2060, 0x2063], [0x206a, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffc], [0x1d173, 0x1d17a], // C.2.2
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd], // C.3
  [0xfdd0, 0xfdef], // C.4 (and every plane's xFFFE/xFFFF, below)
  [0xd800, 0xdfff], // C.5 (lone surrogates)
  [0xfff9, 0xfffd], // C.6
  [0x2ff0, 0x2ffb], // C.7
  [0x0340, 0x0341], [0x200e, 0x200f], [0x202a, 0x202e], // C.8
  [0xe0001, 0xe0001], [0xe0020, 0xe007f], // C.9
];

function inRanges(cp: number, ranges: Ranges): boolean {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
}

function isProhibited(cp: number): boolean {
  return (cp & 0xfffe) === 0xfffe || inRanges(cp, PROHIBITED);
}

/** The prepared string, or null when RFC 4013 prohibits it (then no SCRAM client can log in with it). */
export function saslPrep(input: string): string | null {
  let mapped = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0) ?? 0;
    if (inRanges(cp, B1)) continue;
    mapped += inRanges(cp, C12) ? ' ' : ch;
  }
  const out = mapped.normalize('NFKC');
  for (const ch of out) if (isProhibited(ch.codePointAt(0) ?? 0)) return null;
  return out;
}
