/**
 * Worker-thread entry: runs the crypt(3)-family algorithms that are pure JavaScript loops (DES,
 * MD5-crypt, SHA-crypt), so that their milliseconds of CPU never stall the event loop.
 */
import { parentPort } from 'node:worker_threads';
import type { CryptReply, CryptRequest, CryptTask } from './crypt-task.js';
import { desCryptHash } from './algorithms/descrypt.js';
import { md5CryptHash } from './algorithms/md5crypt.js';
import { shaCryptHash } from './algorithms/shacrypt.js';

function run(task: CryptTask): string {
  switch (task.algo) {
    case 'des-crypt': return desCryptHash(task.password, task.salt);
    case 'md5-crypt': return md5CryptHash(task.password, task.salt);
    case 'sha-crypt': return shaCryptHash(task.bits, task.password, task.salt, task.rounds);
  }
}

const port = parentPort;
if (port) {
  port.on('message', (req: CryptRequest) => {
    let reply: CryptReply;
    try {
      reply = { id: req.id, hash: run(req.task) };
    } catch (e) {
      reply = { id: req.id, error: e instanceof Error ? e.message : 'worker failure' };
    }
    port.postMessage(reply);
  });
}
