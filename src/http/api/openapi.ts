/**
 * The OpenAPI 3.1 description of the JSON API (W3), generated from the command table, served at
 * /api/v1/openapi.json and kept in docs/openapi.json (`mailward api-reference --openapi`; a test
 * keeps the two equal).
 */
import { ERROR_CODES } from '../../core/errors.js';
import { RIGHTS } from '../../directory/rights.js';
import { COMMANDS, type CommandDef, type ParamDef, type ResultDoc } from '../../admin/cli/commands.js';
import type { Json } from '../../admin/cli/json.js';
import { API_ERROR_CODES } from './errors.js';

type Schema = { [key: string]: Json };

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

function paramSchema(p: ParamDef): Schema {
  const base: Schema = (() => {
    switch (p.type) {
      case 'name': return { type: 'string', minLength: 1 };
      case 'string': return { type: 'string' };
      case 'secret': return { type: 'string', format: 'password', writeOnly: true };
      case 'dictionary': return ref('Settings');
      case 'array': return { type: 'array', items: ref('Value') };
      case 'value': return ref('Value');
      case 'flag': return { type: 'boolean' };
    }
  })();
  return { ...base, description: p.doc };
}

const RESULT: Record<Exclude<ResultDoc, 'none'>, Schema> = {
  string: { type: 'string' },
  array: { type: 'array', items: { type: 'string' } },
  dictionary: ref('Settings'),
  effective: ref('Effective'),
  check: { type: 'boolean', description: 'true when the password matches' },
  accounts: { type: 'array', items: { type: 'string' }, description: 'Account names.' },
  rights: { type: 'array', items: { enum: [...RIGHTS] } },
  lockout: {
    type: 'object', required: ['failures', 'lockedUntil'],
    properties: { failures: { type: 'integer', minimum: 0 }, lockedUntil: { type: ['string', 'null'], format: 'date-time' } },
  },
  addresses: { type: 'array', items: { type: 'string' }, description: 'Addresses and ranges.' },
};

function operation(c: CommandDef): Schema {
  const required = c.params.filter((p) => p.required).map((p) => p.name);
  const body: Schema = {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(c.params.map((p) => [p.name, paramSchema(p)])),
    ...(required.length ? { required } : {}),
  };
  const ok: Schema = c.returns === 'none'
    ? { type: 'object', required: ['ok'], properties: { ok: { const: true } } }
    : { type: 'object', required: ['ok', 'result'], properties: { ok: { const: true }, result: RESULT[c.returns] } };
  return {
    operationId: c.name,
    summary: c.summary,
    description: `Rights: ${c.rights}\n\nCLI form: \`${c.syntax}\`${c.origin === 'Mailward' ? ' (a Mailward command; not in CommuniGate Pro)' : ''}`,
    tags: [c.origin === 'Mailward' ? 'Mailward' : 'CommuniGate'],
    requestBody: {
      required: required.length > 0,
      content: { 'application/json': { schema: body, example: c.example.json } },
    },
    responses: {
      200: { description: 'Done.', content: { 'application/json': { schema: ok } } },
      400: { $ref: '#/components/responses/Invalid' },
      401: { $ref: '#/components/responses/Unauthenticated' },
      403: { $ref: '#/components/responses/Forbidden' },
      404: { $ref: '#/components/responses/Unknown' },
      409: { $ref: '#/components/responses/Conflict' },
    },
  };
}

const errorResponse = (description: string): Schema => ({ description, content: { 'application/json': { schema: ref('Error') } } });

export function openApiDocument(): Schema {
  const paths: Schema = {};
  for (const c of COMMANDS) paths[`/api/v1/${c.name}`] = { post: operation(c) };
  paths['/api/v1/openapi.json'] = {
    get: { operationId: 'openapi', summary: 'This document.', security: [], responses: { 200: { description: 'OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } } },
  };
  paths['/CLI/'] = {
    post: {
      operationId: 'cli',
      summary: "CommuniGate Pro's HTTP CLI: one command line, answered in the data format.",
      tags: ['CommuniGate'],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['command'], properties: { command: { type: 'string', example: 'GetAccountSettings user1@client1.com' } } } },
          'text/plain': { schema: { type: 'string', example: 'ListDomains' } },
        },
      },
      responses: {
        200: { description: 'The data (none for commands without data). Header X-CLI-Code: 200.', content: { 'text/plain': { schema: { type: 'string' } } } },
        default: { description: 'The error message; header X-CLI-Code: 500 (not a command) or 501 (the command failed); the status as for the JSON form, 422 when VerifyAccountPassword does not match.', content: { 'text/plain': { schema: { type: 'string' } } } },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mailward CLI/API',
      version: '1',
      description: 'The CommuniGate Pro CLI commands of Mailward as JSON operations (SPEC W3). Every operation authenticates with HTTP Basic over HTTPS; the rights of the account decide what it may do (R1-R5). Values of the CommuniGate data format appear as JSON: see the Value schema.',
    },
    tags: [
      { name: 'CommuniGate', description: 'Commands of the CommuniGate Pro CLI.' },
      { name: 'Mailward', description: 'Commands Mailward adds.' },
    ],
    security: [{ basic: [] }],
    paths,
    components: {
      securitySchemes: { basic: { type: 'http', scheme: 'basic', description: 'Over HTTPS only (or the loopback clear admin listener).' } },
      schemas: {
        Value: {
          description: 'A value of the CommuniGate data format: string, integer, array, object (dictionary) or null; true/false are YES/NO; {"$time": ISO 8601 | "past" | "future"}, {"$base64": ...} and {"$ip": address, "port": n} for timestamps, data blocks and IP addresses.',
        },
        Settings: { type: 'object', additionalProperties: ref('Value'), description: 'Settings by their stored key (docs/configuration.md). In Update operations a value "default" (or null) removes the setting.' },
        Effective: {
          type: 'object', required: ['values', 'sources'],
          properties: {
            values: ref('Settings'),
            sources: { type: 'object', additionalProperties: { enum: ['account', 'domain', 'server', 'default'] } },
          },
        },
        Error: {
          type: 'object', required: ['ok', 'error'],
          properties: {
            ok: { const: false },
            error: {
              type: 'object', required: ['code', 'message'],
              properties: { code: { enum: [...Object.keys(ERROR_CODES), ...Object.keys(API_ERROR_CODES)] }, message: { type: 'string' } },
            },
          },
        },
      },
      responses: {
        Invalid: errorResponse('The arguments or the values are not valid (settings.invalid, cli.usage, name.invalid, api.badRequest...).'),
        Unauthenticated: errorResponse('Authentication failed or is missing (auth.*).'),
        Forbidden: errorResponse('The account may not do this (directory.refused).'),
        Unknown: errorResponse('No such command, domain or account (api.unknownCommand, directory.notFound). A delegated domain administrator gets this for domains it may not see.'),
        Conflict: errorResponse('The object exists already, or changed meanwhile (directory.exists, store.conflict).'),
      },
    },
  };
}
