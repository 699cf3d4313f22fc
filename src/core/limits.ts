/**
 * Every limit is a named constant with the reason it exists. Protocol-specific limits live beside
 * their protocol but follow the same rule.
 */

/** Nesting depth of arrays/dictionaries in the text data format: a hostile `((((((...` must not
 *  exhaust the stack of a recursive parser or the memory of the serializer. Real settings nest < 5. */
export const FORMAT_MAX_DEPTH = 64;

/** Largest text the data-format parser accepts in one call: 16 MiB is far above any settings file
 *  or CLI command, and bounds the memory a single request can make us allocate. */
export const FORMAT_MAX_INPUT = 16 * 1024 * 1024;

/** Longest object name (domain, account): DNS names are at most 253 octets; local parts of
 *  addresses at most 64, but aliases and OS-style names can be longer. 255 fits a file name. */
export const NAME_MAX_LENGTH = 255;

/** Largest settings file the file store reads: a file this big is not a settings file anymore. */
export const STORE_MAX_FILE = 8 * 1024 * 1024;
