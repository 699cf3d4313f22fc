/**
 * The floor of a relayed IMAP login in Node: the least a Node proxy can do for one, with nothing
 * of a product around it. It greets, takes `AUTHENTICATE PLAIN` (two steps, as the benchmark's
 * client sends it) or a quoted `LOGIN`, checks the password against a table, connects to the
 * backend named for the user's domain, logs in there as a master user in one write (SASL-IR,
 * authzid = the user), answers OK once the backend did, and then pipes both ways. No policy, no
 * logging, no time-outs, no limits: what Mailward spends above it is its own; what it spends
 * above nginx is Node's (net.Socket, streams, libuv, the event loop).
 * Usage: node login-floor.js PORT USERS.json BACKENDS.json MASTER-USER MASTER-PASSWORD
 *   USERS.json: {"user@domain": "password"}; BACKENDS.json: {"domain|imap": port}
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

const [portArg, usersFile, backendsArg, masterUser, masterPass] = process.argv.slice(2);
if (!portArg || !usersFile || !backendsArg || !masterUser || !masterPass) {
  process.stderr.write('usage: node login-floor.js PORT USERS.json BACKENDS.json MASTER-USER MASTER-PASSWORD\n');
  process.exit(2);
}
const users = new Map(Object.entries(JSON.parse(readFileSync(usersFile, 'utf8')) as Record<string, string>).map(([u, p]) => [u, Buffer.from(p)]));
const backends = JSON.parse(backendsArg) as Record<string, number>;

function checkPassword(user: string, pass: string): number | undefined {
  const want = users.get(user);
  const got = Buffer.from(pass);
  if (!want || want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
  return backends[`${user.slice(user.indexOf('@') + 1)}|imap`];
}

function relay(client: Socket, tag: string, user: string, port: number): void {
  const backend = connect({ host: '127.0.0.1', port });
  backend.setNoDelay(true);
  const ir = Buffer.from(`${user}\0${masterUser}\0${masterPass}`).toString('base64');
  let buf = '';
  let greeted = false;
  const fail = (): void => { client.end(`${tag} NO [UNAVAILABLE] backend\r\n`); backend.destroy(); };
  backend.on('error', fail);
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!greeted) {
        greeted = true;
        backend.write(`b AUTHENTICATE PLAIN ${ir}\r\n`);
      } else if (line.startsWith('b ')) {
        backend.off('data', onData);
        backend.off('error', fail);
        if (!line.startsWith('b OK')) { fail(); return; }
        client.write(`${tag} OK logged in\r\n`);
        const drop = (): void => { client.destroy(); backend.destroy(); };
        client.on('error', drop);
        backend.on('error', drop);
        client.pipe(backend);
        backend.pipe(client);
        return;
      }
    }
  };
  backend.on('data', onData);
}

createServer((client) => {
  client.setNoDelay(true);
  client.on('error', () => client.destroy());
  let buf = '';
  let plainTag: string | null = null;
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i > 0 && buf.charCodeAt(i - 1) === 13 ? i - 1 : i);
      buf = buf.slice(i + 1);
      let tag: string;
      let user: string;
      let pass: string;
      if (plainTag !== null) {
        tag = plainTag;
        plainTag = null;
        const parts = Buffer.from(line, 'base64').toString('utf8').split('\0');
        user = parts[1] ?? '';
        pass = parts[2] ?? '';
      } else {
        const m = /^(\S+) (AUTHENTICATE PLAIN|LOGIN "([^"]*)" "([^"]*)")$/i.exec(line);
        if (!m) { client.write(`${line.split(' ')[0] ?? '*'} BAD unknown\r\n`); continue; }
        if (m[3] === undefined) { plainTag = m[1] as string; client.write('+ \r\n'); continue; }
        [tag, user, pass] = [m[1] as string, m[3], m[4] as string];
      }
      const port = checkPassword(user, pass);
      if (port === undefined) { client.write(`${tag} NO [AUTHENTICATIONFAILED] failed\r\n`); continue; }
      client.off('data', onData);
      relay(client, tag, user, port);
      return;
    }
  };
  client.on('data', onData);
  client.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] floor ready\r\n');
}).listen(Number(portArg), '127.0.0.1');

// An orderly exit on SIGTERM, so that `node --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
