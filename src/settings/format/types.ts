import { isIP } from 'node:net';

/**
 * Values of the CommuniGate Pro textual representation (the "data format" of settings files and
 * of the CLI/API). Dictionaries are null-prototype objects: a key named `__proto__` or
 * `constructor` in hostile input is an ordinary key, never a prototype change.
 */

/** A `[base64]` data block. */
export class DataBlock {
  readonly bytes: Buffer;
  constructor(bytes: Uint8Array) { this.bytes = Buffer.from(bytes); }
  equals(other: DataBlock): boolean { return this.bytes.equals(other.bytes); }
}

/**
 * A `#I[address]` or `#I[address]:port` object (CommuniGate's IP-address type, used in CLI output
 * and in account info). Always valid: the constructor refuses anything `net.isIP` rejects, so a
 * hostile file cannot smuggle an arbitrary string in through this type.
 */
export class IpAddress {
  readonly address: string;
  readonly port: number | undefined;
  constructor(address: string, port?: number) {
    if (isIP(address) === 0) throw new TypeError('not an IPv4 or IPv6 address');
    if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new TypeError('not a port number (0-65535)');
    this.address = address;
    this.port = port;
  }
  equals(other: IpAddress): boolean { return this.address === other.address && this.port === other.port; }
  toString(): string { return this.port === undefined ? this.address : `[${this.address}]:${this.port}`; }
}

export type CgValue = string | number | null | Date | DataBlock | IpAddress | CgValue[] | CgDict;
export interface CgDict { [key: string]: CgValue }

export function isDict(v: CgValue | undefined): v is CgDict {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof DataBlock) && !(v instanceof Date) && !(v instanceof IpAddress);
}

/** `#TPAST` and `#TFUTURE`, CommuniGate's "earlier/later than any time" stamps, are the earliest and
 *  latest instants a JavaScript Date can hold, so they compare correctly against every real date. */
export const TIME_PAST_MS = -8_640_000_000_000_000;
export const TIME_FUTURE_MS = 8_640_000_000_000_000;

/** A fresh dictionary with no prototype, optionally filled from entries. */
export function dict(entries?: Iterable<readonly [string, CgValue]> | Record<string, CgValue>): CgDict {
  const d = Object.create(null) as CgDict;
  if (!entries) return d;
  const it = Symbol.iterator in (entries as object) ? (entries as Iterable<readonly [string, CgValue]>) : Object.entries(entries);
  for (const [k, v] of it) d[k] = v;
  return d;
}
