/**
 * The socket side of a backend login: connect (clear or implicit TLS), upgrade with STARTTLS,
 * and read CRLF lines (and IMAP literals) against a deadline. Every read has a deadline so a
 * backend that accepts the connection and then says nothing gives a quick temporary error,
 * never a hung client (B1). Once the login is done, `detach` hands back the socket with nothing
 * of ours attached and whatever bytes were read past the last line, which must reach the client.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/** Longest line accepted from a backend during login. IMAP capability lists of Dovecot are
 *  about 600 bytes, SMTP replies are at most 512 per line (RFC 5321 §4.5.3.1.5); 64 KiB bounds
 *  what a broken or hostile backend can make us buffer. */
export const BACKEND_MAX_LINE = 65536;

/** Largest IMAP literal we accept during the login phase (greeting, ID, CAPABILITY): real ones
 *  are a few hundred bytes; anything larger is not a login exchange. */
export const BACKEND_MAX_LITERAL = 65536;

export type WireFailure = { ok: false; reason: string };
export type LineResult = { ok: true; line: string } | WireFailure;
export type BytesResult = { ok: true; data: Buffer } | WireFailure;

export interface TlsOptions {
  /** Verify the certificate chain and the host name (setting BackendVerifyCertificate). */
  verify: boolean;
  /** The configured host name: SNI and the name the certificate must carry. */
  servername: string;
  /** Extra CA certificates (tests); the system store otherwise. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface ConnectOptions {
  /** The address to connect to (already resolved and checked by the loop guard). */
  address: string;
  port: number;
  /** Implicit TLS from the first byte. */
  tls?: TlsOptions;
  /** Connection and TLS handshake together. */
  timeoutMs: number;
  /** Read into buffers of the connection's own (see ReadPort). Clear connections only, and only
   *  for a socket that stays clear (no STARTTLS) and whose readers use 'data' or the port. */
  ownBuffers?: boolean;
}

/** Size of a backend connection's read buffer while the reads are small (logins, commands,
 *  replies): what an idle connection holds. A login's replies fit (Dovecot's greeting with its
 *  capabilities is about 600 bytes); a 4 KiB page cost an idle relayed connection 4.7 KiB more. */
export const BACKEND_READ_SMALL = 1024;
/** ... and once a read filled it (a large FETCH or RETR on its way): Node's own read size. */
export const BACKEND_READ_LARGE = 64 * 1024;

/**
 * Where a backend connection's reads go when it reads into buffers of its own (net's `onread`).
 * By default a relayed FETCH is read 64 KiB at a time into a fresh buffer that only the garbage
 * collector frees: a page fault per page (glibc hands the freed memory back to the kernel) and GC
 * work per chunk, which cost Mailward twice nginx's CPU per MB relayed (docs/benchmarks.md, step
 * 19). With its own buffer, a connection reads into the same memory again as long as what the last
 * read held was passed on (written to the client's socket in full).
 *
 * `sink` null: each read is copied and emitted as a 'data' event, so LineChannel and anything
 * else that listens to 'data' works unchanged. Nothing is buffered on this path, so the socket
 * must only be read while someone listens: the connector makes its LineChannel in the same turn
 * as the connect, and LineChannel.detach pauses the socket (which stops its reads). A sink gets the bytes in the connection's buffer,
 * valid only during the call: it returns 'done' when it no longer needs them, or 'held' when
 * they are still referenced (a write that did not complete at once); then reading pauses, the
 * next read gets a new buffer, and the sink's owner resumes the socket when the write is done.
 */
export interface ReadPort {
  sink: ((chunk: Buffer) => 'done' | 'held') | null;
}

const readPorts = new WeakMap<Socket, ReadPort>();

/** The read port of a backend socket opened with `ownBuffers`, if it is one. */
export function readPortOf(socket: Socket | TLSSocket): ReadPort | undefined {
  return readPorts.get(socket as Socket);
}

function connectWithOwnBuffers(address: string, port: number): Socket {
  const readPort: ReadPort = { sink: null };
  let current = Buffer.allocUnsafe(BACKEND_READ_SMALL);
  // What the last read told the generator below: the buffer must be replaced (held by a write),
  // or should change size.
  let held = false;
  let lastRead = 0;
  const socket = netConnect({
    host: address, port,
    onread: {
      // Called once for the first buffer, then after every read for the next one: the same
      // buffer while it is free and of the right size; a new one when a write holds it, when a
      // read filled it (grow), or when a small read follows large ones (shrink back).
      buffer: (): Buffer => {
        const want = lastRead === current.length ? BACKEND_READ_LARGE
          : lastRead > 0 && lastRead < BACKEND_READ_SMALL / 4 ? BACKEND_READ_SMALL : current.length;
        if (held || want !== current.length) {
          held = false;
          current = Buffer.allocUnsafe(want);
        }
        return current;
      },
      callback: (n: number, buf: Uint8Array): boolean => {
        lastRead = n;
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        const sink = readPort.sink;
        if (sink === null) {
          socket.emit('data', Buffer.from(chunk));
          return true;
        }
        if (sink(chunk) === 'done') return true;
        held = true;
        return false;
      },
    },
  });
  readPorts.set(socket, readPort);
  return socket;
}

/** Node's TLS client options for a backend: SNI only for host names (RFC 6066 §3 forbids
 *  literal addresses); with verification, the chain and the configured host name are checked;
 *  options left out rather than set to undefined (node fills its defaults only for absent keys). */
function tlsClientOptions(tls: TlsOptions): ConnectionOptions {
  const o: ConnectionOptions = { rejectUnauthorized: tls.verify };
  if (!isIP(tls.servername)) o.servername = tls.servername;
  if (tls.ca !== undefined) o.ca = tls.ca;
  if (tls.verify) o.checkServerIdentity = (_host, cert) => checkServerIdentity(tls.servername, cert);
  else o.checkServerIdentity = () => undefined;
  return o;
}

/** Connects; resolves with the socket or a failure reason. Never throws, never hangs. */
export function openConnection(opts: ConnectOptions): Promise<{ ok: true; socket: Socket | TLSSocket } | WireFailure> {
  return new Promise((resolve) => {
    let settled = false;
    const socket: Socket | TLSSocket = opts.tls
      ? tlsConnect({ host: opts.address, port: opts.port, ...tlsClientOptions(opts.tls) })
      : opts.ownBuffers ? connectWithOwnBuffers(opts.address, opts.port) : netConnect({ host: opts.address, port: opts.port });
    const done = (r: { ok: true; socket: Socket | TLSSocket } | WireFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.removeListener(opts.tls ? 'secureConnect' : 'connect', onConnect);
      if (!r.ok) socket.destroy();
      resolve(r);
    };
    const onError = (e: Error): void => done({ ok: false, reason: `connect: ${describeError(e)}` });
    const onConnect = (): void => {
      // A TLS socket can report secureConnect with a verification failure when
      // rejectUnauthorized is off; with it on, a bad chain is an 'error' event instead.
      done({ ok: true, socket });
    };
    const timer = setTimeout(() => done({ ok: false, reason: 'connect: time-out' }), opts.timeoutMs);
    socket.once('error', onError);
    socket.once(opts.tls ? 'secureConnect' : 'connect', onConnect);
  });
}

/** STARTTLS/STLS: wraps the clear socket (which must have no unread bytes: a backend that sends
 *  data after its "go ahead" reply is injecting plaintext into the TLS session). */
export function upgradeToTls(socket: Socket, tls: TlsOptions, timeoutMs: number): Promise<{ ok: true; socket: TLSSocket } | WireFailure> {
  return new Promise((resolve) => {
    let settled = false;
    const secure = tlsConnect({ socket, ...tlsClientOptions(tls) });
    const done = (r: { ok: true; socket: TLSSocket } | WireFailure): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      secure.removeListener('error', onError);
      if (!r.ok) secure.destroy();
      resolve(r);
    };
    const onError = (e: Error): void => done({ ok: false, reason: `tls: ${describeError(e)}` });
    const timer = setTimeout(() => done({ ok: false, reason: 'tls: handshake time-out' }), timeoutMs);
    secure.once('error', onError);
    secure.once('secureConnect', () => done({ ok: true, socket: secure }));
  });
}

function ignoreError(): void { /* see LineChannel.detach */ }

const EMPTY = Buffer.alloc(0);
const TIMED_OUT: WireFailure = Object.freeze({ ok: false, reason: 'time-out' }) as WireFailure;

export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} ${e.message}` : e.message;
  }
  return String(e);
}

/**
 * Reads lines and counted bytes from a socket. One reader per socket at a time; each read
 * waits at most until `deadline` (epoch ms). Lines are latin1 strings: the login exchanges are
 * ASCII, and latin1 keeps every byte as one character so nothing is lost or reinterpreted.
 *
 * A login's reads all share one deadline, so one timer serves them all (armed at the first wait,
 * kept while later waits name the same deadline): a timer per read was most of this class's cost
 * on a relayed login.
 */
export class LineChannel {
  #socket: Socket | TLSSocket;
  #buffer: Buffer = EMPTY;
  #closed: string | null = null;
  #waiter: ((f: WireFailure | null) => void) | null = null;
  #timer: NodeJS.Timeout | undefined;
  #timerDeadline = 0;
  #timedOut = false;
  readonly #onData = (d: Buffer): void => {
    this.#buffer = this.#buffer.length === 0 ? d : Buffer.concat([this.#buffer, d]);
    this.#wake(null);
  };
  readonly #onEnd = (): void => { this.#closed ??= 'connection closed by the backend'; this.#wake(null); };
  readonly #onError = (e: Error): void => { this.#closed ??= `connection error: ${describeError(e)}`; this.#wake(null); };
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timedOut = true;
    this.#wake(TIMED_OUT);
  };

  constructor(socket: Socket | TLSSocket, pending?: Buffer) {
    this.#socket = socket;
    if (pending && pending.length > 0) this.#buffer = Buffer.from(pending);
    this.#attach();
  }

  get socket(): Socket | TLSSocket { return this.#socket; }

  /** Bytes received but not consumed yet. */
  get buffered(): number { return this.#buffer.length; }

  #attach(): void {
    this.#socket.on('data', this.#onData);
    this.#socket.on('end', this.#onEnd);
    this.#socket.on('close', this.#onEnd);
    this.#socket.on('error', this.#onError);
  }

  #detachListeners(): void {
    this.#socket.removeListener('data', this.#onData);
    this.#socket.removeListener('end', this.#onEnd);
    this.#socket.removeListener('close', this.#onEnd);
    this.#socket.removeListener('error', this.#onError);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) { clearTimeout(this.#timer); this.#timer = undefined; }
    this.#timerDeadline = 0;
    this.#timedOut = false;
  }

  #wake(f: WireFailure | null): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.(f);
  }

  #waitForData(deadline: number): Promise<WireFailure | null> | WireFailure {
    if (this.#closed !== null) return { ok: false, reason: this.#closed };
    if (deadline !== this.#timerDeadline) {
      // A new deadline (the next exchange of a reused channel, or a test's own): its own timer.
      this.#stopTimer();
      const left = deadline - Date.now();
      if (left <= 0) return TIMED_OUT;
      this.#timerDeadline = deadline;
      this.#timer = setTimeout(this.#onTimer, left);
    } else if (this.#timedOut) {
      return TIMED_OUT;
    }
    return new Promise((resolve) => { this.#waiter = resolve; });
  }

  /** One line without its line end (CRLF, or a bare LF from a sloppy server). */
  async readLine(deadline: number, maxLength = BACKEND_MAX_LINE): Promise<LineResult> {
    for (;;) {
      const nl = this.#buffer.indexOf(0x0a);
      if (nl >= 0) {
        if (nl > maxLength) return { ok: false, reason: 'line too long' };
        const end = nl > 0 && this.#buffer[nl - 1] === 0x0d ? nl - 1 : nl;
        const line = this.#buffer.toString('latin1', 0, end);
        this.#buffer = nl + 1 === this.#buffer.length ? EMPTY : this.#buffer.subarray(nl + 1);
        return { ok: true, line };
      }
      if (this.#buffer.length > maxLength) return { ok: false, reason: 'line too long' };
      const f = await this.#waitForData(deadline);
      if (f) return f;
    }
  }

  /** Exactly `size` bytes (an IMAP literal). */
  async readBytes(size: number, deadline: number): Promise<BytesResult> {
    for (;;) {
      if (this.#buffer.length >= size) {
        const data = Buffer.from(this.#buffer.subarray(0, size));
        this.#buffer = this.#buffer.subarray(size);
        return { ok: true, data };
      }
      const f = await this.#waitForData(deadline);
      if (f) return f;
    }
  }

  /** Writes a short command without waiting: the login exchanges are a few hundred bytes on a
   *  fresh connection, far below any socket buffer, so there is no back-pressure to wait for
   *  (and a write to a closed socket shows up as the next read's failure). */
  send(data: string | Buffer): void {
    if (this.#socket.destroyed) return;
    if (typeof data === 'string') this.#socket.write(data, 'latin1');
    else this.#socket.write(data);
  }

  /** Writes; resolves once the data is handed to the kernel (back-pressure for large DATA). */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) { resolve(); return; }
      const flushed = this.#socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
      if (flushed) resolve();
      else {
        const done = (): void => { this.#socket.removeListener('drain', done); this.#socket.removeListener('close', done); resolve(); };
        this.#socket.once('drain', done);
        this.#socket.once('close', done);
      }
    });
  }

  /** Swaps in the TLS socket after STARTTLS. Refused when unread bytes remain (see upgradeToTls). */
  async startTls(tls: TlsOptions, timeoutMs: number): Promise<{ ok: true } | WireFailure> {
    if (this.#buffer.length > 0) return { ok: false, reason: 'tls: backend sent data after its STARTTLS reply' };
    this.#detachListeners();
    const r = await upgradeToTls(this.#socket as Socket, tls, timeoutMs);
    if (!r.ok) return r;
    this.#socket = r.socket;
    this.#closed = null;
    this.#attach();
    return { ok: true };
  }

  /** Stops reading: the socket is paused, carries none of our listeners, and the bytes read past
   *  the last consumed line are returned (they belong to whoever reads next). */
  detach(): { socket: Socket | TLSSocket; pending: Buffer } {
    this.#stopTimer();
    this.#detachListeners();
    // Until the next owner attaches its own handlers, an error event must not become an
    // uncaught exception; the owner still sees 'close'.
    this.#socket.on('error', ignoreError);
    this.#socket.pause();
    const pending = this.#buffer;
    this.#buffer = EMPTY;
    return { socket: this.#socket, pending };
  }

  destroy(): void {
    this.#stopTimer();
    this.#detachListeners();
    this.#socket.destroy();
  }
}
