/**
 * IMAP limits before authentication. Each bounds what an unauthenticated peer can make us buffer,
 * parse or answer; after login the backend's own limits apply to the relayed stream.
 */

/** Largest literal accepted before login, synchronizing or not, in octets. RFC 7888 LITERAL-
 *  caps non-synchronizing literals at 4096; nothing sent before login needs more (names are at
 *  most 512 octets, passwords 1024, RFC 2971 ID values 1024), so synchronizing ones share it. */
export const IMAP_MAX_LITERAL = 4096;

/** Most literals in one command. LOGIN needs two; ID at most 60 (RFC 2971: 30 field/value pairs).
 *  The cap ends a command that a peer would keep growing literal after literal. */
export const IMAP_MAX_LITERALS_PER_COMMAND = 64;

/** Largest whole command (lines and literals together), in octets: an ID with 30 pairs of
 *  1024-octet values fits, and so does the longest SASL-IR line (16 KiB of base64). */
export const IMAP_MAX_COMMAND_BYTES = 64 * 1024;

/** Longest tag we echo. RFC 9051 puts no bound on tags, but each reply repeats the tag, so an
 *  unbounded one lets a peer amplify our output; real clients use short counters or UUIDs. */
export const IMAP_MAX_TAG_LENGTH = 128;

/** Deepest parenthesised list. Before login only ID takes a list, one level deep; the cap keeps
 *  a `((((...` line from building deep structures. */
export const IMAP_MAX_LIST_DEPTH = 4;

/** RFC 2971: at most 30 field/value pairs, fields at most 30 octets, values at most 1024. */
export const ID_MAX_PAIRS = 30;
export const ID_MAX_FIELD = 30;
export const ID_MAX_VALUE = 1024;
