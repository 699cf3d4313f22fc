/**
 * The common shell of both web services: a fastify app whose http.Server never listens (the
 * listeners in listeners.ts hand it connections after Grant/Deny and TLS), form parsing, the
 * security headers every response carries, and the style sheet.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { logger } from '../../core/log.js';
import { Form, FORM_MAX_BYTES } from './form.js';
import { STYLE_CSS } from './style.js';
import { html, type SafeHtml } from './html.js';
import { plainFrame } from './layout.js';

const log = logger('HTTP');

/** A request must arrive whole within this: bounds slow-loris clients that trickle a body. */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;
/** Headers must arrive within this (Node's guard against slow headers). */
export const HTTP_HEADERS_TIMEOUT_MS = 15_000;
/** An idle keep-alive connection is closed after this: browsers reuse connections within seconds. */
export const HTTP_KEEPALIVE_TIMEOUT_MS = 10_000;
/** Largest header block: our cookies and forms need little; 16 KiB is Node's default. */
export const HTTP_MAX_HEADER_BYTES = 16 * 1024;

/**
 * CSP (W1): nothing but our own style sheet and images; no script at all (the pages need none),
 * forms post only to us, and no other site may frame us (clickjacking).
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

declare module 'fastify' {
  interface FastifyRequest { form: Form }
}

export interface WebApp { app: FastifyInstance; http: HttpServer }

export function createWebApp(): WebApp {
  let httpServer: HttpServer | undefined;
  const app = Fastify({
    logger: false,
    bodyLimit: FORM_MAX_BYTES,
    trustProxy: false,
    // The path is matched case-sensitively and without a trailing-slash twin: one URL per page.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 512 },
    serverFactory: (handler) => {
      httpServer = createServer({
        maxHeaderSize: HTTP_MAX_HEADER_BYTES,
        requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
        headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
        keepAliveTimeout: HTTP_KEEPALIVE_TIMEOUT_MS,
      }, handler);
      return httpServer;
    },
  });
  app.decorateRequest('form', { getter: () => Form.empty() });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_MAX_BYTES }, (req, body, done) => {
    const f = Form.parse(typeof body === 'string' ? body : body.toString('utf8'));
    if (!f) { done(Object.assign(new Error('too many form fields'), { statusCode: 413 }), undefined); return; }
    done(null, f);
  });
  app.addHook('preHandler', async (req) => {
    if (req.body instanceof Form) Object.defineProperty(req, 'form', { value: req.body, configurable: true });
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    reply.header('Cross-Origin-Resource-Policy', 'same-origin');
    if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
    return payload;
  });
  app.get('/style.css', async (_req, reply) => {
    reply.header('Cache-Control', 'max-age=3600');
    reply.type('text/css; charset=utf-8').send(STYLE_CSS);
  });
  // Fastify's own error and not-found answers are JSON with its messages; ours are short pages
  // that say nothing about the internals (the details go to the log).
  app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) logRequestError(req, err);
    const text = status === 413 ? 'The request is too large.' : status === 500 ? 'Something went wrong; the error was logged.' : 'The request could not be understood.';
    return sendHtml(reply, status, errorPage(status, text));
  });
  app.setNotFoundHandler(async (_req, reply) => sendHtml(reply, 404, errorPage(404, 'There is no such page.')));
  if (!httpServer) throw new Error('fastify did not call serverFactory'); // a bug
  return { app, http: httpServer };
}

function errorPage(status: number, text: string): SafeHtml {
  return plainFrame(`Error ${status}`, html`<div class="login-box"><h1>${status === 404 ? 'Not found' : 'Error'}</h1><p>${text}</p><p><a href="/">Start page</a></p></div>`);
}

export function sendHtml(reply: FastifyReply, status: number, page: { value: string }): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(`<!DOCTYPE html>\n${page.value}`);
}

/** POST-redirect-GET: 303 so the browser fetches the target with GET. */
export function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.code(303).header('Location', location).send();
}

export function logRequestError(req: FastifyRequest, e: unknown): void {
  log.problem('http.error', { method: req.method, url: req.url.split('?')[0], error: e });
}
