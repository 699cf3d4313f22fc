// B1, B2 against a real Dovecot (dovecot-imapd, dovecot-pop3d): master-user logins in both
// styles, pass-through, ID with the client's address, mailbox listing and fetching through the
// returned socket, TLS to the backend (implicit, STARTTLS, certificate verification), refusals,
// backend down, silent backend, no backend and relay loops.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { configureLogging, type LogRecord } from '../core/log.js';
import type { CgValue } from '../settings/format/types.js';
import type { BackendResult } from './connector.js';
import { DefaultBackendConnector, type ConnectorOptions } from './default-connector.js';
import { startDovecot, type DovecotInstance } from './test/dovecot.js';
import { fakeDirectory, LineClient, request } from './test/helpers.js';

const MESSAGE = 'From: bob@example.com\nTo: alice@example.com\nSubject: relay test\n\nHello through Mailward.\n';

let dv: DovecotInstance;
const records: LogRecord[] = [];
configureLogging({ sink: (r) => records.push(r), levels: { BACKEND: 'all' } });

before(async () => {
  dv = await startDovecot({
    users: [{ name: 'alice@example.com', password: 'alice-pass' }, { name: 'carol@example.com', password: 'carol-pass' }],
    master: { name: 'mwmaster', password: 'master-pass' },
    tls: true,
  });
  await dv.deliver('alice@example.com', MESSAGE);
});
after(async () => { await dv?.stop(); });

function connector(settings: Record<string, CgValue>, extra: Partial<ConnectorOptions> = {}): DefaultBackendConnector {
  return new DefaultBackendConnector({
    directory: fakeDirectory({
      'example.com': {
        BackendHost: '127.0.0.1', BackendIMAPPort: String(dv.imapPort), BackendPOPPort: String(dv.pop3Port),
        BackendMasterUser: 'mwmaster', BackendMasterPassword: 'master-pass', ...settings,
      },
    }),
    listeners: async () => [{ address: '0.0.0.0', port: 1143 }],
    hostname: async () => 'mailward.test',
    ...extra,
  });
}

function ok(r: BackendResult): Extract<BackendResult, { status: 'ok' }> {
  assert.equal(r.status, 'ok', JSON.stringify(r.status === 'ok' ? {} : r));
  return r as Extract<BackendResult, { status: 'ok' }>;
}

async function listAndFetch(r: Extract<BackendResult, { status: 'ok' }>): Promise<void> {
  assert.ok(r.capabilities?.includes('IMAP4rev1'), `capabilities: ${r.capabilities?.join(' ')}`);
  const c = new LineClient(r.socket, r.pending);
  try {
    const list = await c.imap('a', 'LIST "" "*"');
    assert.ok(list.some((l) => /^\* LIST .* INBOX$/.test(l)), list.join('\n'));
    const sel = await c.imap('b', 'SELECT INBOX');
    assert.match(sel.at(-1) ?? '', /^b OK/);
    const fetch = await c.imap('c', 'FETCH 1 BODY.PEEK[]');
    assert.ok(fetch.join('\n').includes('Hello through Mailward.'), fetch.join('\n'));
  } finally {
    c.close();
  }
}

test('B1 IMAP master user, PLAIN with the user as authzid: list mailboxes and fetch a message', async () => {
  const r = ok(await connector({ BackendMasterStyle: 'authzid' }).connect(request('IMAP', 'alice', { remote: '192.0.2.11' })));
  await listAndFetch(r);
  // ID carried the client's address: Dovecot trusts us (login_trusted_networks) and logs it.
  assert.match(await dv.log(), /user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.11/);
});

test('B1 IMAP master user, separator style (alice@example.com*mwmaster)', async () => {
  const r = ok(await connector({ BackendMasterStyle: 'separator', BackendMasterSeparator: '*' }).connect(request('IMAP', 'alice', { remote: '192.0.2.12' })));
  await listAndFetch(r);
});

test('B1 IMAP pass-through with the password the client sent in clear', async () => {
  const r = ok(await connector({ BackendLogin: 'passthrough' }).connect(request('IMAP', 'alice', { password: 'alice-pass', remote: '192.0.2.13' })));
  await listAndFetch(r);
});

test('B1 IMAP pass-through without a clear-text password is refused before connecting', async () => {
  const r = await connector({ BackendLogin: 'passthrough' }).connect(request('IMAP', 'alice', { remote: '192.0.2.14' }));
  assert.equal(r.status, 'refused');
});

test('B1 IMAP wrong master password is refused', async () => {
  const r = await connector({ BackendMasterPassword: 'wrong' }).connect(request('IMAP', 'alice', { remote: '192.0.2.15' }));
  assert.equal(r.status, 'refused');
  assert.match(r.status === 'refused' ? r.reason : '', /AUTHENTICATIONFAILED/);
});

test('B1 IMAP user unknown to the backend is refused (master passdb needs the user to exist)', async () => {
  const r = await connector({}).connect(request('IMAP', 'nobody-here', { remote: '192.0.2.16' }));
  assert.equal(r.status, 'refused');
});

test('B1 IMAP pass-through with a wrong password is refused', async () => {
  const r = await connector({ BackendLogin: 'passthrough' }).connect(request('IMAP', 'alice', { password: 'nope', remote: '192.0.2.17' }));
  assert.equal(r.status, 'refused');
});

test('B1 IMAP implicit TLS and STARTTLS to the backend, certificate verified with its CA', async () => {
  const ca = dv.certificate ?? '';
  const implicit = ok(await connector({ BackendTLS: 'implicit', BackendIMAPPort: String(dv.imapsPort), BackendHost: 'localhost' }, { ca })
    .connect(request('IMAP', 'alice', { remote: '192.0.2.18' })));
  assert.equal('encrypted' in implicit.socket && implicit.socket.encrypted, true);
  await listAndFetch(implicit);
  const starttls = ok(await connector({ BackendTLS: 'starttls', BackendHost: 'localhost' }, { ca }).connect(request('IMAP', 'alice', { remote: '192.0.2.19' })));
  assert.equal('encrypted' in starttls.socket && starttls.socket.encrypted, true);
  await listAndFetch(starttls);
});

test('B1 backend certificate: refused when not trusted and verification is on; accepted when off', async () => {
  const bad = await connector({ BackendTLS: 'implicit', BackendIMAPPort: String(dv.imapsPort), BackendHost: 'localhost' }).connect(request('IMAP', 'alice', { remote: '192.0.2.20' }));
  assert.equal(bad.status, 'unavailable');
  const badStart = await connector({ BackendTLS: 'starttls', BackendHost: 'localhost' }).connect(request('IMAP', 'alice', { remote: '192.0.2.20' }));
  assert.equal(badStart.status, 'unavailable');
  const r = ok(await connector({ BackendTLS: 'implicit', BackendIMAPPort: String(dv.imapsPort), BackendVerifyCertificate: 'NO' })
    .connect(request('IMAP', 'alice', { remote: '192.0.2.21' })));
  r.socket.destroy();
});

test('B1 POP3 master user (PLAIN authzid and separator) and pass-through: STAT and RETR', async () => {
  const cases: Array<[Record<string, CgValue>, string | undefined]> = [
    [{ BackendMasterStyle: 'authzid' }, undefined],
    [{ BackendMasterStyle: 'separator' }, undefined],
    [{ BackendLogin: 'passthrough' }, 'alice-pass'],
    [{ BackendMasterStyle: 'authzid', BackendTLS: 'starttls', BackendVerifyCertificate: 'NO' }, undefined],
  ];
  let n = 30;
  for (const [settings, password] of cases) {
    n += 1;
    const r = ok(await connector(settings).connect(request('POP', 'alice', { password, remote: `192.0.2.${n}` })));
    const c = new LineClient(r.socket, r.pending);
    try {
      assert.match((await c.pop3('STAT'))[0] ?? '', /^\+OK 1 \d+/, JSON.stringify(settings));
      const retr = await c.pop3('RETR 1', true);
      assert.ok(retr.includes('Hello through Mailward.'), retr.join('\n'));
    } finally {
      c.close();
    }
  }
  // Dovecot's POP3 XCLIENT took the client's address.
  assert.match(await dv.log(), /pop3-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.31/);
});

test('B1 POP3 wrong master password is refused', async () => {
  const r = await connector({ BackendMasterPassword: 'wrong', BackendMasterStyle: 'separator' }).connect(request('POP', 'alice', { remote: '192.0.2.40' }));
  assert.equal(r.status, 'refused');
});

test('B2 no backend configured: no-backend, for every service', async () => {
  for (const service of ['IMAP', 'POP', 'SMTP'] as const) {
    const r = await connector({ BackendHost: '' }).connect(request(service));
    assert.equal(r.status, 'no-backend');
  }
  const noPort = await connector({ BackendIMAPPort: '0' }).connect(request('IMAP'));
  assert.equal(noPort.status, 'no-backend');
});

test('B1 backend down: quick unavailable (connection refused)', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  const t0 = Date.now();
  const r = await connector({ BackendIMAPPort: String(port) }).connect(request('IMAP'));
  assert.equal(r.status, 'unavailable');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('B1 silent backend (accepts, never greets): unavailable after the login time-out, not a hang', async () => {
  const held: import('node:net').Socket[] = [];
  const s: Server = createServer((c) => held.push(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  try {
    const t0 = Date.now();
    const r = await connector({ BackendIMAPPort: String(port) }, { loginTimeoutMs: 300 }).connect(request('IMAP'));
    assert.equal(r.status, 'unavailable');
    assert.match(r.status === 'unavailable' ? r.reason : '', /time-out/);
    assert.ok(Date.now() - t0 < 2000);
  } finally {
    for (const c of held) c.destroy();
    s.close();
  }
});

test('B1 relay loop: the backend address is one of our listeners (wildcard and exact)', async () => {
  for (const address of ['0.0.0.0', '127.0.0.1', '::']) {
    const r = await connector({}, { listeners: async () => [{ address, port: dv.imapPort }] }).connect(request('IMAP'));
    assert.equal(r.status, 'unavailable', address);
    assert.match(r.status === 'unavailable' ? r.reason : '', /relay loop/);
  }
});

test('B1 relay loop: the backend greeting carries our own banner token', async () => {
  // Dovecot's greeting text stands in for our token: as if the backend were Mailward itself.
  const token = dv.greeting.split(' ')[2] ?? 'x';
  for (const service of ['IMAP', 'POP'] as const) {
    const r = await connector({}, { token }).connect(request(service));
    assert.equal(r.status, 'unavailable', service);
    assert.match(r.status === 'unavailable' ? r.reason : '', /relay loop/);
  }
});

test('B1 W4 BACKEND logs name the account and the outcome, never a password', async () => {
  records.length = 0;
  ok(await connector({ BackendLogin: 'passthrough' }).connect(request('IMAP', 'alice', { password: 'alice-pass', remote: '192.0.2.41' }))).socket.destroy();
  await connector({ BackendMasterPassword: 'Wr0ng-Master-Secret' }).connect(request('POP', 'alice', { remote: '192.0.2.42' }));
  const text = JSON.stringify(records);
  assert.ok(records.some((r) => r.module === 'BACKEND' && r.event === 'backend.ready' && r.account === 'alice@example.com'), text);
  assert.ok(records.some((r) => r.event === 'backend.refused'), text);
  for (const secret of ['alice-pass', 'master-pass', 'Wr0ng-Master-Secret']) assert.ok(!text.includes(secret), secret);
});

/** A TCP hop in front of Dovecot that records what the connector sends, chunk by chunk, and may
 *  rewrite Dovecot's greeting (to play a backend without some capability). */
async function recordingHop(targetPort: number, greeting: (g: string) => string = (g) => g): Promise<{ port: number; sent: string[]; close(): void }> {
  const sent: string[] = [];
  const open: Socket[] = [];
  const server = createServer((c) => {
    const b = netConnect({ host: '127.0.0.1', port: targetPort });
    open.push(c, b);
    let first = true;
    c.on('data', (d: Buffer) => { sent.push(d.toString('latin1')); b.write(d); });
    b.on('data', (d: Buffer) => {
      if (first) { first = false; c.write(greeting(d.toString('latin1')), 'latin1'); } else c.write(d);
    });
    c.on('close', () => b.destroy());
    b.on('close', () => c.destroy());
    c.on('error', () => b.destroy());
    b.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, sent, close: () => { for (const x of open) x.destroy(); server.close(); } };
}

test('B1 IMAP with SASL-IR: ID and AUTHENTICATE PLAIN go to Dovecot in one write, both answered', async () => {
  const hop = await recordingHop(dv.imapPort);
  try {
    const r = ok(await connector({ BackendIMAPPort: String(hop.port) }).connect(request('IMAP', 'alice', { remote: '192.0.2.51' })));
    const first = hop.sent[0] ?? '';
    assert.match(first, /^MW1 ID \("name" "Mailward" "x-originating-ip" "192\.0\.2\.51" /, first);
    assert.match(first, /\r\nMW2 AUTHENTICATE PLAIN [A-Za-z0-9+/]+=*\r\n$/, 'the login rides in the same write');
    assert.equal(hop.sent.length, 1, 'nothing else was needed to log in');
    await listAndFetch(r);
    assert.match(await dv.log(), /user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.51/);
  } finally {
    hop.close();
  }
});

test('B1 IMAP backend without SASL-IR: ID, then AUTHENTICATE PLAIN and its continuation step by step', async () => {
  const hop = await recordingHop(dv.imapPort, (g) => g.replace(/ SASL-IR\b/, ''));
  try {
    const r = ok(await connector({ BackendIMAPPort: String(hop.port) }).connect(request('IMAP', 'alice', { remote: '192.0.2.52' })));
    assert.match(hop.sent[0] ?? '', /^MW1 ID \(.*\)\r\n$/);
    assert.equal(hop.sent[1], 'MW2 AUTHENTICATE PLAIN\r\n', 'no initial response without SASL-IR (RFC 4959)');
    assert.match(hop.sent[2] ?? '', /^[A-Za-z0-9+/]+=*\r\n$/);
    await listAndFetch(r);
    assert.match(await dv.log(), /user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.52/);
  } finally {
    hop.close();
  }
});

test('B1 IMAP LOGIN (separator master style) rides with ID in one write', async () => {
  const hop = await recordingHop(dv.imapPort, (g) => g.replace(/ AUTH=PLAIN\b/, ''));
  try {
    const r = ok(await connector({ BackendIMAPPort: String(hop.port), BackendMasterStyle: 'separator', BackendMasterSeparator: '*' }).connect(request('IMAP', 'alice', { remote: '192.0.2.53' })));
    assert.equal(hop.sent.length, 1, hop.sent.join('|'));
    assert.match(hop.sent[0] ?? '', /\r\nMW2 LOGIN "alice@example\.com\*mwmaster" "master-pass"\r\n$/);
    await listAndFetch(r);
  } finally {
    hop.close();
  }
});

test('B1 POP3 to Dovecot ([XCLIENT] greeting): XCLIENT, CAPA and AUTH PLAIN in one write; without [XCLIENT], step by step', async () => {
  const hop = await recordingHop(dv.pop3Port);
  const plainHop = await recordingHop(dv.pop3Port, (g) => g.replace(/ ?\[XCLIENT\]/, ''));
  try {
    const r = ok(await connector({ BackendPOPPort: String(hop.port) }).connect(request('POP', 'alice', { remote: '192.0.2.54' })));
    assert.equal(hop.sent.length, 1, hop.sent.join('|'));
    assert.match(hop.sent[0] ?? '', /^XCLIENT ADDR=192\.0\.2\.54 PORT=\d+ SESSION=\S+\r\nCAPA\r\nAUTH PLAIN [A-Za-z0-9+/]+=*\r\n$/);
    const c = new LineClient(r.socket, r.pending);
    try { assert.match((await c.pop3('STAT'))[0] ?? '', /^\+OK 1 /); } finally { c.close(); }
    assert.match(await dv.log(), /pop3-login: Info: Login: user=<alice@example\.com>, method=PLAIN, rip=192\.0\.2\.54/);

    const before = hop.sent.length;
    const sep = ok(await connector({ BackendPOPPort: String(hop.port), BackendMasterStyle: 'separator' }).connect(request('POP', 'alice', { remote: '192.0.2.55' })));
    assert.equal(hop.sent.length, before + 1, hop.sent.join('|'));
    assert.match(hop.sent[before] ?? '', /^XCLIENT [^\r]*\r\nUSER alice@example\.com\*mwmaster\r\nPASS master-pass\r\n$/);
    sep.socket.destroy();

    const s = ok(await connector({ BackendPOPPort: String(plainHop.port) }).connect(request('POP', 'alice', { remote: '192.0.2.56' })));
    assert.deepEqual(plainHop.sent.map((x) => x.replace(/ .*/s, '')), ['CAPA\r\n', 'AUTH'], 'no pipelining for a server that did not say it reads ahead');
    s.socket.destroy();
  } finally {
    hop.close();
    plainHop.close();
  }
});
