/** The POP3 commands understood before login. Anything else is refused with -ERR. */
import { apop } from './apop.js';
import { auth } from './auth.js';
import { capa } from './capa.js';
import { pass } from './pass.js';
import { quit } from './quit.js';
import { stls } from './stls.js';
import { user } from './user.js';
import { register, type RegisteredCommand } from './types.js';

export const POP3_COMMANDS: ReadonlyMap<string, RegisteredCommand> = new Map(
  [register(capa), register(stls), register(user), register(pass), register(apop), register(auth), register(quit)].map((c) => [c.name, c]),
);
