/**
 * nginx's auth_http endpoint for the benchmark (run as its own process on the server CPU, so
 * its CPU counts on nginx's side): checks the user's password against a table (stored in clear,
 * like every server's accounts in the benchmark) and names the backend by the user's domain.
 * Usage: node auth-http.js PORT USERS.json '{"domain|imap": backendPort, "domain|pop3": ...}'
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

const [portArg, usersFile, backendsArg] = process.argv.slice(2);
const users = new Map<string, Buffer>(Object.entries(JSON.parse(readFileSync(usersFile ?? '', 'utf8')) as Record<string, string>).map(([u, p]) => [u, Buffer.from(p)]));
const backends = JSON.parse(backendsArg ?? '{}') as Record<string, number>;

function decode(v: string | string[] | undefined): string {
  // nginx URL-encodes Auth-User and Auth-Pass.
  try { return decodeURIComponent(typeof v === 'string' ? v : ''); } catch { return ''; }
}

createServer((req, res) => {
  const user = decode(req.headers['auth-user']);
  const pass = Buffer.from(decode(req.headers['auth-pass']));
  const want = users.get(user);
  const protocol = typeof req.headers['auth-protocol'] === 'string' ? req.headers['auth-protocol'] : '';
  const port = backends[`${user.slice(user.indexOf('@') + 1)}|${protocol}`];
  if (want && want.length === pass.length && timingSafeEqual(want, pass) && port) {
    res.writeHead(200, { 'Auth-Status': 'OK', 'Auth-Server': '127.0.0.1', 'Auth-Port': String(port) });
  } else {
    res.writeHead(200, { 'Auth-Status': 'Invalid login or password', 'Auth-Wait': '0' });
  }
  res.end();
}).listen(Number(portArg), '127.0.0.1');
