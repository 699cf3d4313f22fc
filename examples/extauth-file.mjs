#!/usr/bin/env node
/**
 * Sample External Authentication program for Mailward (E5): checks clear-text passwords against a
 * file of users. See examples/README.md for the protocol and how to configure it.
 *
 *   node extauth-file.mjs USERS_FILE            run as Mailward's External Authentication program
 *   node extauth-file.mjs --hash name@domain    read a password from stdin, print a USERS_FILE line
 *
 * USERS_FILE holds one user a line, `name@domain:{SCHEME}hash`; blank lines and `#` comments are
 * skipped; names compare without regard to case. Schemes: {SSHA256} and {SSHA512}, the RFC 2307
 * salted forms: base64(digest(password + salt) + salt), which `doveadm pw -s SSHA256` and
 * `slappasswd -h {SSHA256}` (with the sha2 module) also write. Clear-text passwords are not
 * accepted: a stolen file must not give the passwords away.
 *
 * The file is read again whenever it changes (size or modification time), so users can be added
 * without restarting anything.
 *
 * Answers: INTF -> `OK 2`; VRFY -> OK, `ERROR incorrect password` or `ERROR unknown user` (both take
 * the same time); SASL -> `ERROR unsupported SASL method` (a one-way hash cannot check a challenge
 * response); NEW -> `ERROR this account is not known` (this program creates nothing).
 * Requests are handled as they arrive, so answers may come back in any order, each with its
 * request's number. Each answer is one write to stdout, which Node does not buffer for a pipe on
 * Linux, so it reaches Mailward at once (the reference's "flush" rule). On end of stdin, the
 * program finishes what it has started and quits.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { Buffer } from 'node:buffer';
import process from 'node:process';

/** Longest request line read: a request is a number, a verb, an address and a password. */
const MAX_LINE = 8192;
/** Salt for --hash: 16 bytes is beyond any precomputation. */
const SALT_BYTES = 16;
const SCHEMES = { '{SSHA256}': { algorithm: 'sha256', size: 32 }, '{SSHA512}': { algorithm: 'sha512', size: 64 } };

function ssha(scheme, password, salt) {
  const { algorithm } = SCHEMES[scheme];
  const digest = createHash(algorithm).update(password).update(salt).digest();
  return Buffer.concat([digest, salt]);
}

/** A parsed `{SCHEME}base64` value, or null when it is not one this program checks. */
function parseHash(value) {
  const m = /^(\{[A-Z0-9]+\})([A-Za-z0-9+/]+={0,2})$/.exec(value.trim());
  if (!m || !(m[1] in SCHEMES)) return null;
  const raw = Buffer.from(m[2], 'base64');
  const { size } = SCHEMES[m[1]];
  if (raw.length <= size) return null; // a salted hash has at least one byte of salt
  return { scheme: m[1], digest: raw.subarray(0, size), salt: raw.subarray(size) };
}

function check(entry, password) {
  const computed = ssha(entry.scheme, password, entry.salt).subarray(0, entry.digest.length);
  return timingSafeEqual(computed, entry.digest);
}

// An unknown name is checked against this throw-away entry so that it takes as long as a known one.
const DUMMY = { scheme: '{SSHA256}', digest: randomBytes(32), salt: randomBytes(SALT_BYTES) };

if (process.argv[2] === '--hash') {
  const address = process.argv[3];
  if (!address || !/^[^\s@:]+@[^\s@:]+$/.test(address)) {
    process.stderr.write('usage: extauth-file.mjs --hash name@domain   (the password is read from stdin)\n');
    process.exit(64);
  }
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const password = Buffer.concat(chunks).toString('latin1').split(/\r?\n/)[0] ?? '';
  if (password.length === 0) { process.stderr.write('empty password\n'); process.exit(64); }
  const salt = randomBytes(SALT_BYTES);
  process.stdout.write(`${address.toLowerCase()}:{SSHA256}${ssha('{SSHA256}', Buffer.from(password, 'latin1'), salt).toString('base64')}\n`);
  process.exit(0);
}

const usersFile = process.argv[2];
if (!usersFile) {
  process.stderr.write('usage: extauth-file.mjs USERS_FILE\n');
  process.exit(64);
}

let users = new Map();
let loadedKey = '';
let loading = null;

/** Reads the file again when it changed. Errors keep the last good copy (and are reported). */
async function refresh() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const st = await stat(usersFile);
      const key = `${st.size}:${st.mtimeMs}`;
      if (key === loadedKey) return;
      const text = await readFile(usersFile, 'utf8');
      const next = new Map();
      text.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) return;
        const colon = line.indexOf(':');
        const entry = colon > 0 ? parseHash(line.slice(colon + 1)) : null;
        if (!entry) { process.stderr.write(`${usersFile}:${i + 1}: not "name@domain:{SSHA256}..." (line skipped)\n`); return; }
        next.set(line.slice(0, colon).toLowerCase(), entry);
      });
      users = next;
      loadedKey = key;
    } catch (e) {
      process.stderr.write(`cannot read ${usersFile}: ${e.code ?? e.message}\n`);
    } finally {
      loading = null;
    }
  })();
  return loading;
}

const reply = (seq, text) => { process.stdout.write(`${seq} ${text}\n`); };

async function handle(line) {
  const m = /^([0-9]+) (\S+)(?: (.*))?$/s.exec(line);
  if (!m) { process.stderr.write('ignored a line that is not a request\n'); return; }
  const [, seq, verb, rest = ''] = m;
  if (verb === 'INTF') return reply(seq, 'OK 2');
  if (verb.startsWith('SASL(')) return reply(seq, 'ERROR unsupported SASL method');
  if (verb === 'NEW') return reply(seq, 'ERROR this account is not known');
  if (verb !== 'VRFY') return reply(seq, 'ERROR unknown command');
  // VRFY [(mode)] name@domain password -- the password is the rest of the line, spaces and all.
  const v = /^(?:\([^)\s]*\) )?([^\s]+@[^\s]+) (.+)$/s.exec(rest);
  if (!v) return reply(seq, 'ERROR syntax: VRFY [(mode)] name@domain password');
  const address = Buffer.from(v[1], 'latin1').toString('utf8').toLowerCase();
  const password = Buffer.from(v[2], 'latin1');
  await refresh();
  const entry = users.get(address);
  const ok = check(entry ?? DUMMY, password);
  if (!entry) return reply(seq, 'ERROR unknown user');
  return reply(seq, ok ? 'OK' : 'ERROR incorrect password');
}

const inProgress = new Set();
function start(line) {
  const p = handle(line).catch((e) => process.stderr.write(`request failed: ${e.message}\n`));
  inProgress.add(p);
  void p.finally(() => inProgress.delete(p));
}

// Split stdin into lines ourselves, as bytes (latin1 keeps each byte), with a length limit.
let buf = '';
let skipping = false;
process.stdin.on('data', (chunk) => {
  buf += chunk.toString('latin1');
  let nl;
  while ((nl = buf.indexOf('\n')) !== -1) {
    const line = buf.slice(0, nl).replace(/\r$/, '');
    buf = buf.slice(nl + 1);
    if (skipping) { skipping = false; continue; }
    start(line);
  }
  if (buf.length > MAX_LINE) { buf = ''; skipping = true; process.stderr.write('dropped an over-long line\n'); }
});
process.stdin.on('end', async () => {
  await Promise.all([...inProgress]);
  process.exit(0);
});
await refresh();
