/**
 * A minimal IMAP backend for the memory test: greets, answers CAPABILITY, ID, LOGIN (quoted or
 * synchronizing literals, as nginx sends them) and AUTHENTICATE PLAIN with OK, then holds the
 * connection idle. It checks no password: the proxies in front of it already did.
 * Usage: node stub-imap.js PORT
 */
import { createServer } from 'node:net';

const CAPS = 'IMAP4rev1 ID AUTH=PLAIN SASL-IR LITERAL+';

createServer((s) => {
  s.setNoDelay(true);
  s.on('error', () => s.destroy());
  let buf: Buffer = Buffer.alloc(0);
  let literal = 0;
  let cmd = '';
  let authTag: string | null = null;
  s.write(`* OK [CAPABILITY ${CAPS}] stub ready\r\n`);
  s.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    for (;;) {
      if (literal > 0) {
        if (buf.length < literal) return;
        cmd += buf.subarray(0, literal).toString('latin1');
        buf = buf.subarray(literal);
        literal = 0;
      }
      const i = buf.indexOf(10);
      if (i < 0) return;
      const line = buf.subarray(0, i).toString('latin1').replace(/\r$/, '');
      buf = buf.subarray(i + 1);
      const m = /\{(\d+)(\+?)\}$/.exec(line);
      if (m) {
        cmd += line.slice(0, m.index);
        literal = Number(m[1]);
        if (m[2] !== '+') s.write('+ go ahead\r\n');
        continue;
      }
      const full = cmd + line;
      cmd = '';
      if (authTag !== null) { s.write(`${authTag} OK [CAPABILITY ${CAPS}] Logged in\r\n`); authTag = null; continue; }
      const [tag = '*', verb = ''] = full.split(' ');
      switch (verb.toUpperCase()) {
        case 'CAPABILITY': s.write(`* CAPABILITY ${CAPS}\r\n${tag} OK done\r\n`); break;
        case 'ID': s.write(`* ID NIL\r\n${tag} OK done\r\n`); break;
        case 'LOGIN': s.write(`${tag} OK [CAPABILITY ${CAPS}] Logged in\r\n`); break;
        case 'AUTHENTICATE':
          if (full.split(' ').length > 3) s.write(`${tag} OK [CAPABILITY ${CAPS}] Logged in\r\n`);
          else { authTag = tag; s.write('+ \r\n'); }
          break;
        case 'NOOP': s.write(`${tag} OK done\r\n`); break;
        case 'LOGOUT': s.end(`* BYE bye\r\n${tag} OK done\r\n`); break;
        default: s.write(`${tag} BAD unknown\r\n`);
      }
    }
  });
}).listen(Number(process.argv[2]), '127.0.0.1');
