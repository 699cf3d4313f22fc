/**
 * The floor of a TLS handshake in Node: a bare `tls.createServer` with Node's defaults (session
 * tickets on, no session-ID store, no SNI callback) and the benchmark's certificate, that greets
 * like an IMAP server once the handshake is done. What Mailward spends above this server is its
 * own; what this server spends above `openssl s_server` is Node's (the JavaScript side of
 * TLSSocket, libuv, the event loop). It also gives the floor of an idle TLS connection's memory.
 * Usage: node tls-floor.js PORT KEYFILE CERTFILE
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';

const [port, keyFile, certFile] = process.argv.slice(2);
if (!port || !keyFile || !certFile) {
  process.stderr.write('usage: node tls-floor.js PORT KEYFILE CERTFILE\n');
  process.exit(2);
}
const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (s) => {
  s.on('error', () => s.destroy());
  // Greets and holds the connection like a mail server (the memory probe keeps it idle).
  s.write('* OK floor\r\n');
});
// A client that resets during the handshake is normal under load.
server.on('tlsClientError', () => undefined);
server.listen(Number(port), '127.0.0.1');
