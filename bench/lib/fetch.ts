/** Relay throughput: one logged-in connection FETCHes the same large message over and over. */
import { Conn, imapGreeting, imapLogin, type Account, type Target } from './client.js';
import type { CpuProbe } from './load.js';

export interface ThroughputResult { mbPerS: number; bytes: number; wallS: number; serverCpuS: number; usPerMB: number; generatorLoad: number }

export async function fetchThroughput(target: Target, account: Account, size: number, o: { durationMs: number; warmupFetches: number; server: CpuProbe }): Promise<ThroughputResult> {
  const c = await Conn.open(target);
  try {
    await imapGreeting(c);
    await imapLogin(c, account);
    c.write('s SELECT INBOX\r\n');
    const sel = await c.until('s ');
    if (!sel.startsWith('s OK')) throw new Error(`SELECT: ${sel}`);
    let n = 0;
    const fetchOnce = (): Promise<number> => new Promise((resolve, reject) => {
      const tag = `F${++n}`;
      const done = `\r\n${tag} OK`;
      let tail = '';
      let bytes = 0;
      const onClose = (): void => { clearTimeout(t); reject(new Error('closed during FETCH')); };
      const t = setTimeout(() => { c.sink = null; c.socket.off('close', onClose); reject(new Error('FETCH time-out')); }, 60_000);
      c.sink = (chunk) => {
        bytes += chunk.length;
        tail = (tail + chunk.subarray(Math.max(0, chunk.length - 64)).toString('latin1')).slice(-128);
        const i = tail.indexOf(done);
        if (i >= 0 && tail.indexOf('\n', i + 2) >= 0) { clearTimeout(t); c.sink = null; c.socket.off('close', onClose); resolve(bytes); }
      };
      c.socket.once('close', onClose);
      c.write(`${tag} FETCH 1 BODY.PEEK[]\r\n`);
    });
    for (let i = 0; i < o.warmupFetches; i++) await fetchOnce();
    const cpu0 = o.server.cpu();
    const gen0 = process.cpuUsage();
    const t0 = performance.now();
    let bytes = 0;
    const until = Date.now() + o.durationMs;
    do { bytes += await fetchOnce(); } while (Date.now() < until);
    const wallS = (performance.now() - t0) / 1000;
    const gen = process.cpuUsage(gen0);
    const serverCpuS = o.server.cpu() - cpu0;
    if (bytes < size) throw new Error(`FETCH returned ${bytes} bytes, expected at least ${size}`);
    return { mbPerS: bytes / 1e6 / wallS, bytes, wallS, serverCpuS, usPerMB: (serverCpuS * 1e6) / (bytes / 1e6), generatorLoad: (gen.user + gen.system) / 1e6 / wallS };
  } finally {
    c.close();
  }
}
