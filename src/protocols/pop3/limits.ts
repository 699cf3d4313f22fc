/**
 * POP3 limits before authentication. Each bounds what an unauthenticated peer can make us do;
 * after login the backend's own limits apply to the relayed stream.
 */

/** Longest keyword we look at. RFC 2449 keywords are 3-4 characters; extensions run a little
 *  longer (XCLIENT). Anything beyond is garbage, not a command. */
export const POP3_MAX_KEYWORD = 16;
