/**
 * Files holding private keys (T5: "the files holding them are mode 0600"). The store writes them;
 * this is the one helper it should use, so the rule lives in one place. The file is created with
 * its final mode (never readable by others, not even for an instant), written in full, flushed,
 * then renamed over the old one, so a crash leaves the old key or the new one, never half a key.
 */
import { open, rename, unlink, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';

/** Owner read/write only: a private key readable by another local user is a key they hold too. */
export const SECRET_FILE_MODE = 0o600;

export async function writeSecretFile(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', SECRET_FILE_MODE);
  try {
    // The umask can only remove bits, but an odd one could still leave 0600 intact or not: set it.
    await fh.chmod(SECRET_FILE_MODE);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await chmod(path, SECRET_FILE_MODE);
}
