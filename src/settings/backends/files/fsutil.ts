/**
 * File-system steps of the file store: atomic replacement of a file, durable directory entries,
 * bounded reads, and the names of the store's temporary files.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { MailwardError } from '../../../core/errors.js';
import { STORE_MAX_FILE } from '../../../core/limits.js';

/** Settings files hold password hashes and private keys: readable by the server's user only. */
export const FILE_MODE = 0o600;
/** Directories likewise: even the list of account names is private. */
export const DIR_MODE = 0o700;

/**
 * Temporary files and directories of the store: `.<name>.<16 hex>.tmp` while being written and
 * `.<name>.<16 hex>.deleted` while being removed. The leading dot makes them invalid object names,
 * so listings never show them, and a sweep after a crash can recognise exactly these.
 */
export const LEFTOVER_NAME = /^\..*\.[0-9a-f]{16}\.(?:tmp|deleted)$/;

/** How much of the object's name a temporary name shows (for a human reading the directory): the
 *  whole name could be the longest file name allowed, leaving no room for the rest. */
const TEMP_NAME_PREFIX_MAX = 64;

export function tempName(name: string, kind: 'tmp' | 'deleted'): string {
  return `.${name.slice(0, TEMP_NAME_PREFIX_MAX)}.${randomBytes(8).toString('hex')}.${kind}`;
}

export function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps an unexpected file-system failure; the message names the path and the errno, never data. */
export function ioError(op: string, path: string, e: unknown): MailwardError {
  if (e instanceof MailwardError) return e;
  return new MailwardError('store.io', `cannot ${op} ${path}: ${errnoOf(e) ?? String(e)}`, { cause: e });
}

/**
 * Makes a directory's entries (a rename, a new or removed file) durable: without it a crash can
 * bring back the old name even though the new file's data was fsynced. Windows cannot open a
 * directory for fsync and makes renames durable itself.
 */
export async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let dh;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch (e) {
    throw ioError('fsync directory', dir, e);
  } finally {
    await dh?.close();
  }
}

/** Creates `path` with `bytes`, fsynced, failing if it exists. Used inside directories nobody sees yet. */
export async function writeNewFile(path: string, bytes: Uint8Array): Promise<void> {
  let fh;
  try {
    fh = await fs.open(path, 'wx', FILE_MODE);
  } catch (e) {
    throw ioError('create', path, e);
  }
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.unlink(path).catch(() => undefined);
    throw ioError('write', path, e);
  }
  try {
    await fh.close();
  } catch (e) {
    await fs.unlink(path).catch(() => undefined);
    throw ioError('close', path, e);
  }
}

/**
 * Replaces `dir/name` with `bytes` so that a reader (or the file after a crash at any instant) sees
 * either the old file or the new one, whole: write a temporary file in the same directory (rename
 * is atomic only within one file system), fsync it, rename it over the target, fsync the directory.
 */
export async function atomicReplace(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = join(dir, tempName(name, 'tmp'));
  await writeNewFile(tmp, bytes);
  const target = join(dir, name);
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw ioError('rename over', target, e);
  }
  await fsyncDir(dir);
}

/**
 * Reads a whole settings file, or null when it does not exist. A file that is not a regular file
 * or is larger than STORE_MAX_FILE is corrupt: reading it would let one hand-made file exhaust memory.
 */
export async function readBounded(path: string): Promise<Buffer | null> {
  let fh;
  try {
    fh = await fs.open(path, 'r');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return null;
    throw ioError('open', path, e);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new MailwardError('store.corrupt', `${path}: not a regular file`);
    if (st.size > STORE_MAX_FILE) throw new MailwardError('store.corrupt', `${path}: ${st.size} bytes, more than the ${STORE_MAX_FILE} a settings file may have`);
    // Read at most one byte past the limit: the file may grow between fstat and read.
    const buf = Buffer.alloc(Math.min(st.size + 1, STORE_MAX_FILE + 1));
    let len = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, len, buf.length - len, len);
      if (bytesRead === 0) break;
      len += bytesRead;
      if (len === buf.length) break;
    }
    if (len > STORE_MAX_FILE) throw new MailwardError('store.corrupt', `${path}: more than the ${STORE_MAX_FILE} bytes a settings file may have`);
    return buf.subarray(0, len);
  } catch (e) {
    throw ioError('read', path, e);
  } finally {
    await fh.close();
  }
}

/** Byte offset of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    let n: number;
    let min: number;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8 (RFC 3629).
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return -1;
}

/** 1-based line and column (in code points) of a byte offset in UTF-8 text. */
export function positionOf(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset && i < b.length; i++) {
    const c = b[i] ?? 0;
    if (c === 0x0a) { line++; column = 1; }
    else if ((c & 0xc0) !== 0x80) column++;
  }
  return { line, column };
}
