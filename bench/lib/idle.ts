/** Memory per idle relayed connection: PSS of the proxy's tree before and after N logged-in,
 *  idle connections. */
import { Conn, imapGreeting, imapLogin, type Account, type Target } from './client.js';
import { treePssBytes } from './proc.js';

/** Connections opened at once while building up the idle set. */
export const OPEN_CONCURRENCY = 64;
/** Time for the server to settle (timers, GC) before PSS is read (the smoke run uses less). */
export const SETTLE_MS = 1500;

/** Connections opened and closed before the baseline is read, so that code loaded or compiled
 *  on first use, and pools a server fills once, are not counted as per-connection memory. */
export const WARMUP_CONNECTIONS = 200;

/** Expects a server process that has not served this test before (the caller starts a fresh
 *  one): memory a previous run left in the allocator would hide the cost of new connections. */
export async function idleMemory(target: Target, account: () => Account, n: number, roots: readonly number[], settleMs = SETTLE_MS): Promise<{ bytesPerConn: number; before: number; after: number }> {
  return idleMemoryWith(target, async (c) => { await imapGreeting(c); await imapLogin(c, account()); }, n, roots, settleMs);
}

/** The same with any set-up per connection (e.g. only reading a greeting, for the bare servers
 *  of bench/tls-floor-memory.ts). */
export async function idleMemoryWith(target: Target, setup: (c: Conn) => Promise<void>, n: number, roots: readonly number[], settleMs = SETTLE_MS): Promise<{ bytesPerConn: number; before: number; after: number }> {
  const conns: Conn[] = [];
  const open = async (count: number): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++;
        const c = await Conn.open(target);
        conns.push(c);
        await setup(c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, count) }, worker));
  };
  await open(Math.min(WARMUP_CONNECTIONS, n));
  for (const c of conns.splice(0)) c.close();
  await new Promise((r) => setTimeout(r, settleMs));
  const before = treePssBytes(roots);
  try {
    await open(n);
    await new Promise((r) => setTimeout(r, settleMs));
    const after = treePssBytes(roots);
    return { bytesPerConn: (after - before) / n, before, after };
  } finally {
    for (const c of conns) c.close();
    await new Promise((r) => setTimeout(r, settleMs));
  }
}
