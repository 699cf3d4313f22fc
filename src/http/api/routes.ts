/**
 * The CLI/API over HTTPS (W3), mounted on the WebAdmin app (src/http/common/web-server.ts calls
 * `registerApiRoutes` through its `registerApi` hook):
 *
 *   POST /api/v1/<Command>       JSON body of named arguments -> { "ok": true, "result": ... }
 *                                or { "ok": false, "error": { "code", "message" } } (errors.ts)
 *   GET  /api/v1/openapi.json    the OpenAPI 3.1 description, generated from the command table
 *   POST /CLI/                   CommuniGate Pro's HTTP CLI: the command line in the `command`
 *                                form field (or as a text/plain body); the answer is text/plain:
 *                                the data in the data format, or the error message
 *   GET  /CLI/?command=...       the same, only for commands that cannot carry a password or
 *                                settings (no secret in a URL, where logs and histories keep it)
 *
 * Every request authenticates with HTTP Basic through the engine (auth.ts); the AdminService
 * decides what the account may do (R5). Bodies, arguments and the Authorization header are never
 * logged.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MailwardError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import type { AuthEngine } from '../../auth/engine.js';
import { actorName, type Actor, type AdminService } from '../../admin/service.js';
import { findCommand, type CommandDef, type CommandResult } from '../../admin/cli/commands.js';
import { argsFromTokens, replyText, runCommand } from '../../admin/cli/interpreter.js';
import { CLI_MAX_COMMAND_LENGTH, parseCommandLine } from '../../admin/cli/parser.js';
import { toJson, type Json } from '../../admin/cli/json.js';
import { serialize } from '../../settings/format/index.js';
import { connectionOf } from '../common/listeners.js';
import { authenticateBasic, BASIC_CHALLENGE, type ApiConnection } from './auth.js';
import { failureOf, type ApiFailure } from './errors.js';
import { argsFromJson } from './json-args.js';
import { openApiDocument } from './openapi.js';

const log = logger('HTTP');

/** Largest request body: one command line of the CLI (CLI_MAX_COMMAND_LENGTH) form-encoded, or its
 *  JSON form; a CA chain setting fits with room to spare. */
export const API_MAX_BODY_BYTES = 3 * CLI_MAX_COMMAND_LENGTH;

export const API_PREFIX = '/api/v1';

export interface ApiDeps {
  admin: AdminService;
  engine: AuthEngine;
  /** The connection facts of a request. Default: those the web listeners recorded for its socket
   *  (src/http/common/listeners.ts); a request that did not come through them is refused. */
  connection?: (req: FastifyRequest) => ApiConnection | null;
}

function defaultConnection(req: FastifyRequest): ApiConnection | null {
  const c = connectionOf(req.raw);
  return c ? { client: c.client, local: c.local, secure: c.secure, clearTextLogin: c.clearTextLogin } : null;
}

/** The JSON form of a command's answer (undefined: no result). */
export function resultJson(r: CommandResult): Json | undefined {
  switch (r.kind) {
    case 'none': return undefined;
    case 'data': return r.json ?? toJson(r.value);
    case 'effective': return { values: toJson(r.values), sources: r.sources };
    case 'check': return r.ok;
  }
}

type Via = 'json' | 'cli';

function sendFailure(reply: FastifyReply, via: Via, f: ApiFailure, cliCode?: 500 | 501): FastifyReply {
  reply.code(f.status).header('Cache-Control', 'no-store');
  if (via === 'json') return reply.type('application/json; charset=utf-8').send({ ok: false, error: { code: f.code, message: replyText(f.message) } });
  return reply.header('X-CLI-Code', String(cliCode ?? 501)).type('text/plain; charset=utf-8').send(`${replyText(f.message)}\r\n`);
}

/** Who is asking, or the reply already sent. */
async function authenticate(deps: ApiDeps, connection: (req: FastifyRequest) => ApiConnection | null, req: FastifyRequest, reply: FastifyReply, via: Via): Promise<Actor | null> {
  const conn = connection(req);
  if (!conn) {
    sendFailure(reply, via, { status: 500, code: 'api.noConnection', message: 'the request did not arrive through a Mailward listener' });
    return null;
  }
  const a = await authenticateBasic(deps.engine, deps.admin, conn, req.headers.authorization);
  if (a.ok) return a.actor;
  if (a.challenge) reply.header('WWW-Authenticate', BASIC_CHALLENGE);
  if (a.close) reply.header('Connection', 'close');
  log.info('api.auth.failed', { remote: conn.client, code: a.failure.code, via });
  sendFailure(reply, via, a.failure, 500);
  return null;
}

/** The command line of an HTTP CLI request: the `command` field of a form or query, or a text body. */
function commandText(req: FastifyRequest): string | null {
  const body: unknown = req.body;
  if (typeof body === 'string') return body.replace(/\r?\n$/, '');
  if (body !== null && typeof body === 'object' && typeof (body as { get?: unknown }).get === 'function') {
    const v = (body as { get(name: string): string | null }).get('command');
    return v === null || v === '' ? null : v;
  }
  if (req.method === 'GET') {
    const q = req.query as Record<string, unknown> | undefined;
    const v = q?.command;
    return typeof v === 'string' && v !== '' ? v : null;
  }
  return null;
}

/** A command that can carry a password or settings never comes in a URL. */
function mayTravelInUrl(def: CommandDef): boolean {
  return !def.params.some((p) => p.type === 'secret' || p.type === 'dictionary' || p.type === 'value');
}

async function handleCli(deps: ApiDeps, connection: (req: FastifyRequest) => ApiConnection | null, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const actor = await authenticate(deps, connection, req, reply, 'cli');
  if (!actor) return reply;
  const text = commandText(req);
  if (text === null) return sendFailure(reply, 'cli', { status: 400, code: 'api.badRequest', message: 'give the command line in the "command" field' }, 500);
  const parsed = parseCommandLine(text);
  if (!parsed.ok) return sendFailure(reply, 'cli', { status: 400, code: 'api.badRequest', message: `syntax error at position ${parsed.at + 1}: ${parsed.reason}` }, 500);
  const def = findCommand(parsed.command.name);
  if (!def) return sendFailure(reply, 'cli', { status: 404, code: 'api.unknownCommand', message: `unknown command ${parsed.command.name}` }, 500);
  if (req.method === 'GET' && !mayTravelInUrl(def)) {
    reply.header('Allow', 'POST');
    return sendFailure(reply, 'cli', { status: 405, code: 'api.badRequest', message: `${def.name} may carry a password or settings: send it with POST, never in a URL` }, 500);
  }
  let result: CommandResult;
  try {
    result = await runCommand(def, argsFromTokens(def, parsed.command.args), { admin: deps.admin, actor });
  } catch (e) {
    const f = failureOf(e);
    if (f.status >= 500) log.failure('api.error', { command: def.name, error: e });
    log.info('api.command', { command: def.name, by: actorName(actor), status: f.status, via: 'cli' });
    return sendFailure(reply, 'cli', f, 501);
  }
  log.info('api.command', { command: def.name, by: actorName(actor), status: 200, via: 'cli' });
  reply.header('Cache-Control', 'no-store').type('text/plain; charset=utf-8');
  switch (result.kind) {
    case 'none': return reply.header('X-CLI-Code', '200').send('');
    case 'check':
      if (!result.ok) return sendFailure(reply, 'cli', { status: 422, code: 'api.checkFailed', message: result.failure }, 501);
      return reply.header('X-CLI-Code', '200').send('');
    case 'data': return reply.header('X-CLI-Code', '200').send(`${serialize(result.value)}\r\n`);
    case 'effective': return reply.header('X-CLI-Code', '200').send(`${serialize(result.values)}\r\n`);
  }
}

async function handleJson(deps: ApiDeps, connection: (req: FastifyRequest) => ApiConnection | null, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const actor = await authenticate(deps, connection, req, reply, 'json');
  if (!actor) return reply;
  const name = (req.params as { command?: string }).command ?? '';
  const def = /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name) ? findCommand(name) : undefined;
  if (!def) return sendFailure(reply, 'json', { status: 404, code: 'api.unknownCommand', message: `unknown command ${name.slice(0, 64)} (see ${API_PREFIX}/openapi.json)` });
  const body: unknown = req.body;
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body) || !/^application\/json\b/i.test(req.headers['content-type'] ?? ''))) {
    return sendFailure(reply, 'json', { status: Array.isArray(body) ? 400 : 415, code: Array.isArray(body) ? 'api.badRequest' : 'api.unsupportedMediaType', message: 'the body is a JSON object of named arguments (Content-Type: application/json)' });
  }
  let result: CommandResult;
  try {
    const args = argsFromJson(def, (body ?? {}) as Record<string, unknown>);
    if (!args.ok) throw new MailwardError('cli.usage', args.reason);
    result = await runCommand(def, args.args, { admin: deps.admin, actor });
  } catch (e) {
    const f = failureOf(e);
    if (f.status >= 500) log.failure('api.error', { command: def.name, error: e });
    log.info('api.command', { command: def.name, by: actorName(actor), status: f.status, via: 'json' });
    return sendFailure(reply, 'json', f);
  }
  log.info('api.command', { command: def.name, by: actorName(actor), status: 200, via: 'json' });
  const out = resultJson(result);
  return reply.code(200).header('Cache-Control', 'no-store').type('application/json; charset=utf-8')
    .send(out === undefined ? { ok: true } : { ok: true, result: out });
}

export async function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const connection = deps.connection ?? defaultConnection;
  const openapi = JSON.stringify(openApiDocument());
  await app.register(async (scope) => {
    if (!scope.hasContentTypeParser('application/x-www-form-urlencoded')) {
      scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: API_MAX_BODY_BYTES }, (_req, body, done) => {
        done(null, new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8')));
      });
    }
    scope.setErrorHandler((err: { statusCode?: number; code?: string }, req, reply) => {
      const via: Via = req.url.startsWith('/CLI') ? 'cli' : 'json';
      const s = err.statusCode ?? 500;
      if (s === 413) return sendFailure(reply, via, { status: 413, code: 'api.tooLarge', message: `the request body is larger than ${API_MAX_BODY_BYTES} bytes` }, 500);
      if (s === 415) return sendFailure(reply, via, { status: 415, code: 'api.unsupportedMediaType', message: 'unsupported Content-Type' }, 500);
      if (s >= 400 && s < 500) return sendFailure(reply, via, { status: 400, code: 'api.badRequest', message: 'the request body could not be read' }, 500);
      log.failure('api.error', { url: req.url.split('?')[0], error: err });
      return sendFailure(reply, via, { status: 500, code: 'internal', message: 'internal error (logged)' }, 501);
    });
    scope.get(`${API_PREFIX}/openapi.json`, async (_req, reply) => reply.type('application/json; charset=utf-8').send(openapi));
    scope.post(`${API_PREFIX}/:command`, { bodyLimit: API_MAX_BODY_BYTES }, (req, reply) => handleJson(deps, connection, req, reply));
    scope.post('/CLI/', { bodyLimit: API_MAX_BODY_BYTES }, (req, reply) => handleCli(deps, connection, req, reply));
    scope.get('/CLI/', (req, reply) => handleCli(deps, connection, req, reply));
  });
}
