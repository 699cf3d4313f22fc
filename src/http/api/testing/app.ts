/**
 * A fastify instance with the API routes alone, for tests (the WebAdmin server mounts the same
 * routes on its own app). Test-only.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { AdminFixture } from '../../../admin/cli/testing/fixture.js';
import type { ApiConnection } from '../auth.js';
import { registerApiRoutes } from '../routes.js';

export const TLS_CONN: ApiConnection = { client: '192.0.2.10', local: '192.0.2.1', secure: true, clearTextLogin: 'tls-only' };

export const basic = (login: string, password: string): string => `Basic ${Buffer.from(`${login}:${password}`, 'utf8').toString('base64')}`;

/** The app, and the connection facts every request is given (change `conn.current` per test). */
export async function apiApp(f: AdminFixture, conn: { current: ApiConnection } = { current: TLS_CONN }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await registerApiRoutes(app, { admin: f.admin, engine: f.engine, connection: () => conn.current });
  await app.ready();
  return app;
}

/** Connection facts read from the request's own socket, for tests that really listen. */
export function socketConnection(clearTextLogin: ApiConnection['clearTextLogin']): (req: FastifyRequest) => ApiConnection {
  return (req) => {
    const s = req.raw.socket as Socket | TLSSocket;
    return { client: s.remoteAddress ?? '', local: s.localAddress ?? '', secure: (s as TLSSocket).encrypted === true, clearTextLogin };
  };
}
