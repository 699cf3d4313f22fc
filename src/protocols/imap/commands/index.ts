/** The IMAP commands understood before login. Anything else is refused with BAD. */
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { id } from './id.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { noop } from './noop.js';
import { starttls } from './starttls.js';
import { register, type RegisteredCommand } from './types.js';

export const IMAP_COMMANDS: ReadonlyMap<string, RegisteredCommand> = new Map(
  [register(capability), register(noop), register(logout), register(starttls), register(authenticate), register(login), register(id)]
    .map((c) => [c.name, c]),
);
