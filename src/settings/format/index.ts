/**
 * The CommuniGate Pro textual data format (W3, S1): settings files and the CLI/API's `{ key = value; }`
 * and `( a, b )` texts. See parse.ts for the grammar and serialize.ts for how values are written.
 */
export { parse, parseDictionary, lineColumn, type ParseOptions } from './parse.js';
export { serialize, serializeString, type SerializeOptions } from './serialize.js';
export { FormatError, isFormatError } from './errors.js';
export { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, isDict, type CgDict, type CgValue } from './types.js';
