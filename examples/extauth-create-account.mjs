#!/usr/bin/env node
/**
 * Sample External Authentication program for Mailward (E3, E5): answers NEW for an unknown name by
 * creating the account, when the name is on a list of users known elsewhere (a legacy system being
 * migrated). See examples/README.md for how to configure it.
 *
 *   node extauth-create-account.mjs KNOWN_USERS_FILE
 *
 * KNOWN_USERS_FILE holds the addresses that may be created, one `name@domain` a line (blank lines
 * and `#` comments skipped; compared without regard to case). It is read again when it changes.
 * Only names on that list are ever created: a program that created an account for every NEW would
 * let anyone who probes names fill the server with accounts.
 *
 * The account is created through the running server's API (E3), as the environment says:
 *   MAILWARD_SERVER     the server's WebAdmin address: https://mail.example.com:9010, or the
 *                       loopback admin listener http://127.0.0.1:8010 (clear HTTP only to loopback)
 *   MAILWARD_USER       an account allowed to create accounts in the domains concerned (Can Modify
 *                       User Accounts, or the domain's administrator); MAILWARD_PASSWORD its password
 *   MAILWARD_CA         optional: a PEM file of the authorities to trust (the Test Certificate's CA)
 * It sends `POST /api/v1/CreateAccount {"account": "name@domain"}` with HTTP Basic; created, or
 * created meanwhile by someone else (directory.exists), is answered OK.
 *
 * Or by running a command, without a shell, when MAILWARD_CREATE_COMMAND is set: a JSON array, the
 * program and its arguments, where `{address}` is replaced by name@domain and `{data}` by
 * $MAILWARD_DATA; exit status 0 means created. The `mailward` command itself drives the API the
 * same way (it reads the MAILWARD_SERVER, MAILWARD_USER, MAILWARD_PASSWORD and MAILWARD_CA above):
 *   MAILWARD_CREATE_COMMAND='["mailward","account","create","{address}"]'
 * (`["mailward","account","create","{address}","--data","{data}"]` works only while the server is
 * stopped: a running server holds the data directory.)
 * Either way the new account gets no password here: it logs in with the password sources its
 * domain's settings enable (for example this program's VRFY partner, or the OS password), and may
 * then set its own (P5).
 *
 * Answers: INTF -> `OK 2`; NEW -> OK or ERROR; VRFY and SASL -> `ERROR this program only answers
 * NEW`. Requests are handled concurrently (at most CREATE_PARALLEL creations at a time; two NEW for
 * the same name share one). Each answer is one write to stdout (not buffered for a pipe on
 * Linux). On end of stdin, the program finishes the commands it has started and quits.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Buffer } from 'node:buffer';
import process from 'node:process';

/** Longest request line read. */
const MAX_LINE = 8192;
/** Commands run at once: account creation is rare; a burst must not fork a crowd. */
const CREATE_PARALLEL = 4;
/** A command that takes longer is killed and counts as failed: Mailward's request would have
 *  timed out long before. */
const CREATE_TIMEOUT_MS = 30_000;
/** An address we pass to a command: no whitespace or control characters, exactly one `@`, and no
 *  leading `-`, which the command could take for an option. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const ADDRESS = /^[^\s@\x00-\x1f\x7f-][^\s@\x00-\x1f\x7f]*@[^\s@\x00-\x1f\x7f]+$/;

const listFile = process.argv[2];
if (!listFile) {
  process.stderr.write('usage: extauth-create-account.mjs KNOWN_USERS_FILE\n');
  process.exit(64);
}

let template = null;
let api = null;
if (process.env.MAILWARD_CREATE_COMMAND !== undefined) {
  try {
    template = JSON.parse(process.env.MAILWARD_CREATE_COMMAND);
    if (!Array.isArray(template) || template.length === 0 || !template.every((a) => typeof a === 'string')) throw new Error('not an array of strings');
  } catch (e) {
    process.stderr.write(`MAILWARD_CREATE_COMMAND must be a JSON array of strings: ${e.message}\n`);
    process.exit(64);
  }
  if (template.some((a) => a.includes('{data}')) && !process.env.MAILWARD_DATA) {
    process.stderr.write('MAILWARD_DATA must name the data directory (the command uses {data})\n');
    process.exit(64);
  }
} else {
  const { MAILWARD_SERVER: server, MAILWARD_USER: user, MAILWARD_PASSWORD: password, MAILWARD_CA: caFile } = process.env;
  if (!server || !user || !password) {
    process.stderr.write('set MAILWARD_SERVER, MAILWARD_USER and MAILWARD_PASSWORD (the API), or MAILWARD_CREATE_COMMAND\n');
    process.exit(64);
  }
  let url;
  try { url = new URL('api/v1/CreateAccount', server.endsWith('/') ? server : `${server}/`); } catch {
    process.stderr.write('MAILWARD_SERVER must be a URL such as https://mail.example.com:9010\n');
    process.exit(64);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
  // The password travels with every request: never over clear HTTP to another machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    process.stderr.write('MAILWARD_SERVER must be https:// (clear http:// only to the loopback admin listener)\n');
    process.exit(64);
  }
  let ca;
  if (caFile) {
    try { ca = await readFile(caFile, 'utf8'); } catch (e) {
      process.stderr.write(`cannot read MAILWARD_CA ${caFile}: ${e.code ?? e.message}\n`);
      process.exit(64);
    }
  }
  api = { url, ca, authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` };
}

let known = new Set();
let loadedKey = '';
let loading = null;
async function refresh() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const st = await stat(listFile);
      const key = `${st.size}:${st.mtimeMs}`;
      if (key === loadedKey) return;
      const text = await readFile(listFile, 'utf8');
      known = new Set(text.split(/\r?\n/).map((l) => l.trim().toLowerCase()).filter((l) => l !== '' && !l.startsWith('#')));
      loadedKey = key;
    } catch (e) {
      process.stderr.write(`cannot read ${listFile}: ${e.code ?? e.message}\n`);
    } finally {
      loading = null;
    }
  })();
  return loading;
}

let running = 0;
const queue = [];
const creating = new Map();

/** Runs `fn(address, done)` with at most CREATE_PARALLEL at a time; resolves with its result. */
function limited(fn, address) {
  return new Promise((resolve) => {
    const go = () => {
      running++;
      fn(address, (ok) => {
        running--;
        const next = queue.shift();
        if (next) next();
        resolve(ok);
      });
    };
    if (running < CREATE_PARALLEL) go();
    else queue.push(go);
  });
}

function viaCommand(address, done) {
  const argv = template.map((a) => a.replaceAll('{address}', address).replaceAll('{data}', process.env.MAILWARD_DATA ?? ''));
  execFile(argv[0], argv.slice(1), { timeout: CREATE_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
    if (err) process.stderr.write(`create ${address}: failed (${err.code ?? err.signal ?? 'error'}) ${String(stderr).trim().slice(0, 200)}\n`);
    done(!err);
  });
}

/** Largest API answer read: a few hundred bytes are expected. */
const MAX_ANSWER = 64 * 1024;

function viaApi(address, done) {
  const body = JSON.stringify({ account: address });
  const send = api.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(api.url, {
    method: 'POST',
    timeout: CREATE_TIMEOUT_MS,
    ...(api.ca ? { ca: api.ca } : {}),
    headers: { authorization: api.authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  let finished = false;
  const finish = (ok, why) => {
    if (finished) return;
    finished = true;
    if (!ok) process.stderr.write(`create ${address}: failed (${why})\n`);
    done(ok);
  };
  req.on('timeout', () => req.destroy(new Error('time-out')));
  req.on('error', (e) => finish(false, e.message));
  req.on('response', (res) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { if (text.length < MAX_ANSWER) text += c; });
    res.on('end', () => {
      let j = null;
      try { j = JSON.parse(text); } catch { /* not the API */ }
      // Created, or created meanwhile (a concurrent NEW, another node): either way it exists now.
      if (j?.ok === true || j?.error?.code === 'directory.exists') finish(true);
      else finish(false, `HTTP ${res.statusCode} ${j?.error?.code ?? ''} ${String(j?.error?.message ?? '').slice(0, 200)}`.trim());
    });
    res.on('error', (e) => finish(false, e.message));
  });
  req.end(body);
}

function runCommand(address) {
  return limited(template ? viaCommand : viaApi, address);
}

/** One command per address at a time: concurrent NEW for one name share its result. */
function create(address) {
  let p = creating.get(address);
  if (!p) {
    p = runCommand(address).finally(() => creating.delete(address));
    creating.set(address, p);
  }
  return p;
}

const reply = (seq, text) => { process.stdout.write(`${seq} ${text}\n`); };

async function handle(line) {
  const m = /^([0-9]+) (\S+)(?: (.*))?$/s.exec(line);
  if (!m) { process.stderr.write('ignored a line that is not a request\n'); return; }
  const [, seq, verb, rest = ''] = m;
  if (verb === 'INTF') return reply(seq, 'OK 2');
  if (verb !== 'NEW') return reply(seq, verb === 'VRFY' || verb.startsWith('SASL(') ? 'ERROR this program only answers NEW' : 'ERROR unknown command');
  const address = Buffer.from(rest.trim(), 'latin1').toString('utf8').toLowerCase();
  if (!ADDRESS.test(address)) return reply(seq, 'ERROR syntax: NEW name@domain');
  await refresh();
  if (!known.has(address)) return reply(seq, 'ERROR this account is not known');
  return reply(seq, (await create(address)) ? 'OK' : 'ERROR account creation failed');
}

const inProgress = new Set();
function start(line) {
  const p = handle(line).catch((e) => process.stderr.write(`request failed: ${e.message}\n`));
  inProgress.add(p);
  void p.finally(() => inProgress.delete(p));
}

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
