/**
 * POP3 limits before authentication. Each bounds what an unauthenticated peer can make us do;
 * after login the backend's own limits apply to the relayed stream.
 */

/** Longest keyword we look at. RFC 2449 keywords are 3-4 characters; extensions run a little
 *  longer (XCLIENT). Anything beyond is garbage, not a command. */
export const POP3_MAX_KEYWORD = 16;

/** Safety net around the backend login: the connector has its own time-outs, but a bug there must
 *  not hold a client (and its socket) forever. Longer than any connector time-out. */
export const POP3_BACKEND_TIMEOUT_MS = 60_000;
