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

export type CgValue = string | number | null | Date | DataBlock | CgValue[] | CgDict;
export interface CgDict { [key: string]: CgValue }

export function isDict(v: CgValue | undefined): v is CgDict {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof DataBlock) && !(v instanceof Date);
}

/** A fresh dictionary with no prototype, optionally filled from entries. */
export function dict(entries?: Iterable<readonly [string, CgValue]> | Record<string, CgValue>): CgDict {
  const d = Object.create(null) as CgDict;
  if (!entries) return d;
  const it = Symbol.iterator in (entries as object) ? (entries as Iterable<readonly [string, CgValue]>) : Object.entries(entries);
  for (const [k, v] of it) d[k] = v;
  return d;
}
