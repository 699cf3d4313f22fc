/**
 * A scripted External Authentication program for the client's tests (not a test itself). It is
 * run as `node scripted-helper.js MODE [ARG]`; each mode plays one behaviour of a real or broken
 * program. Replies to VRFY/SASL/NEW are `OK <base64 of the exact request line>` so a test can check
 * both that the reply was matched to the right request and what bytes the program received.
 * Special passwords (the last field of a VRFY line): `wrong` -> ERROR, `crash` -> exit at once
 * without answering, `hang` -> never answered.
 *
 * Modes:
 *   echo [V]      INTF answered `OK V` (V default 2; `error` -> ERROR; `none` -> bare OK)
 *   reverse N     collects N requests, then answers them in reverse order
 *   shuffle N     collects N requests, then answers them in a random order
 *   garbage       before each real reply, writes garbage lines and a reply to an unknown number
 *   ignore-eof    like echo, but keeps running after stdin closes
 *   silent        answers INTF only
 *   no-intf       answers nothing at all
 */
const [mode = 'echo', arg] = process.argv.slice(2);
const out = (s: string): void => { process.stdout.write(s + '\n'); };

let held: { seq: string; line: string }[] = [];
const holdCount = Number(arg ?? '0');

function answer(seq: string, line: string): void {
  if (line.endsWith(' wrong')) out(`${seq} ERROR incorrect password`);
  else out(`${seq} OK ${Buffer.from(line, 'latin1').toString('base64')}`);
}

function onLine(line: string): void {
  const m = /^(\d+) (\S+)/.exec(line);
  if (!m) return;
  const seq = m[1] as string;
  const verb = m[2] as string;
  if (verb === 'INTF') {
    if (mode === 'no-intf') return;
    const v = mode === 'echo' ? (arg ?? '2') : '2';
    if (v === 'error') out(`${seq} ERROR what is INTF`);
    else if (v === 'none') out(`${seq} OK`);
    else out(`${seq} OK ${v}`);
    return;
  }
  if (mode === 'silent' || mode === 'no-intf') return;
  if (line.endsWith(' crash')) process.exit(3);
  if (line.endsWith(' hang')) return;
  if (line.endsWith(' late')) { setTimeout(() => answer(seq, line), 400); return; }
  if (mode === 'reverse' || mode === 'shuffle') {
    held.push({ seq, line });
    if (held.length < holdCount) return;
    const batch = held;
    held = [];
    if (mode === 'reverse') batch.reverse();
    else for (let i = batch.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [batch[i], batch[j]] = [batch[j] as { seq: string; line: string }, batch[i] as { seq: string; line: string }];
    }
    for (const r of batch) answer(r.seq, r.line);
    return;
  }
  if (mode === 'garbage') {
    out('hello world');
    out('');
    out(seq);
    out(`${seq}OK`);
    out('abc OK');
    out(`${seq} MAYBE`);
    out('999999999 OK');
    out('x'.repeat(10_000));
    process.stdout.write(`${seq} OK \x01\n`);
  }
  answer(seq, line);
}

// Lines are split on LF only and kept as raw bytes (latin1 maps each byte to one char), so the
// echo shows exactly what the client wrote.
let buf = '';
process.stdin.on('data', (chunk: Buffer) => {
  buf += chunk.toString('latin1');
  let nl: number;
  while ((nl = buf.indexOf('\n')) !== -1) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    onLine(line);
  }
});
process.stdin.on('end', () => {
  if (mode === 'ignore-eof') {
    setInterval(() => undefined, 1000);
    return;
  }
  process.exit(0);
});
