/** Memory per idle relayed connection: PSS of the proxy's tree before and after N logged-in,
 *  idle connections. */
import { Conn, imapGreeting, imapLogin, type Account, type Target } from './client.js';
import { treePssBytes } from './proc.js';

/** Connections opened at once while building up the idle set. */
export const OPEN_CONCURRENCY = 64;
/** Time for the server to settle (timers, GC) before PSS is read. */
export const SETTLE_MS = 1500;

export async function idleMemory(target: Target, account: () => Account, n: number, roots: readonly number[]): Promise<{ bytesPerConn: number; before: number; after: number }> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const before = treePssBytes(roots);
  const conns: Conn[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const c = await Conn.open(target);
      conns.push(c);
      await imapGreeting(c);
      await imapLogin(c, account());
    }
  };
  try {
    await Promise.all(Array.from({ length: OPEN_CONCURRENCY }, worker));
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const after = treePssBytes(roots);
    return { bytesPerConn: (after - before) / n, before, after };
  } finally {
    for (const c of conns) c.close();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
  }
}
