/** Work sent to the hashing worker threads, and what comes back (shared by pool and worker). */
export type CryptTask =
  | { algo: 'des-crypt'; password: Uint8Array; salt: string }
  | { algo: 'md5-crypt'; password: Uint8Array; salt: Uint8Array }
  | { algo: 'sha-crypt'; bits: 256 | 512; password: Uint8Array; salt: Uint8Array; rounds: number };

export interface CryptRequest { id: number; task: CryptTask }
export type CryptReply = { id: number; hash: string } | { id: number; error: string };
