/**
 * A small TLS test server built the way issue 5's listeners will be: a plain TCP listener that
 * hands each accepted socket to `resolver.accept`, which wraps it per connection (so the local
 * address the client reached picks the domain when there is no SNI). It greets with the domain
 * chosen, so a test can check selection from the client side too, and closes shortly after (a
 * TLS 1.3 ticket is sent after the handshake and needs the connection open that long).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { AcceptResult, TlsContextResolver } from '../context.js';

export interface TestServer {
  host: string;
  port: number;
  results: AcceptResult[];
  open: Set<import('node:tls').TLSSocket>;
  close(): Promise<void>;
}

export async function startTestServer(resolver: TlsContextResolver, opts: { host?: string; holdOpen?: boolean; closeAfterMs?: number } = {}): Promise<TestServer> {
  const host = opts.host ?? '127.0.0.1';
  const results: AcceptResult[] = [];
  const open = new Set<import('node:tls').TLSSocket>();
  const server: Server = createServer((raw) => {
    raw.on('error', () => undefined);
    void resolver.accept(raw).then((r) => {
      results.push(r);
      if (r.status !== 'ok') return;
      const s = r.socket;
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => open.delete(s));
      s.write(`hello ${r.domain}\n`);
      if (opts.holdOpen) {
        s.on('data', (d: Buffer) => { s.write(`echo ${r.domain} ${d.toString().trim()}\n`); });
      } else {
        setTimeout(() => s.end(), opts.closeAfterMs ?? 100);
      }
    });
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()); });
  const port = (server.address() as AddressInfo).port;
  return {
    host, port, results, open,
    close: () => new Promise<void>((resolve) => { for (const s of open) s.destroy(); server.close(() => resolve()); }),
  };
}
