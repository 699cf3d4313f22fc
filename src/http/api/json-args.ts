/**
 * Named arguments of the JSON form: `{ "account": "a@b", "settings": { ... } }`, checked against
 * the command table's parameters (the same check the CLI form goes through afterwards). Never
 * throws: answers the arguments or a reason.
 */
import type { Args, CommandDef } from '../../admin/cli/commands.js';
import { fromJson } from '../../admin/cli/json.js';

export type JsonArgs = { ok: true; args: Args } | { ok: false; reason: string };

export function argsFromJson(def: CommandDef, body: Record<string, unknown>): JsonArgs {
  const args = Object.create(null) as Args;
  for (const [k, v] of Object.entries(body)) {
    const p = def.params.find((x) => x.name === k);
    if (!p) return { ok: false, reason: `${def.name} has no parameter ${JSON.stringify(k.slice(0, 64))} (it takes: ${def.params.map((x) => x.name).join(', ') || 'none'})` };
    if (p.type === 'flag') {
      if (typeof v !== 'boolean') return { ok: false, reason: `${def.name}: ${k} must be true or false` };
      args[k] = v;
      continue;
    }
    // A JSON boolean is YES/NO inside settings; as a whole argument it is no name or string.
    if (typeof v === 'boolean') return { ok: false, reason: `${def.name}: ${k} must not be true or false` };
    const r = fromJson(v);
    if (!r.ok) return { ok: false, reason: `${def.name}: ${k}: ${r.reason}` };
    args[k] = r.value;
  }
  return { ok: true, args };
}
