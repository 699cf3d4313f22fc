/**
 * Form bodies (application/x-www-form-urlencoded), parsed here with the platform's URLSearchParams
 * rather than a plug-in: values land in a Map, so a field named `__proto__` or `constructor` is
 * just a name, and the number of fields is bounded.
 */

/** Most fields one form may carry: our largest form (the listeners of one service) has a few
 *  hundred; a body of a million `a=&` pairs must be refused, not parsed. */
export const FORM_MAX_FIELDS = 2000;

/** Largest form body: a pasted CA chain may be 256 KiB (the CAChain setting's limit), with
 *  URL-encoding up to three times that; more is not a form of ours. */
export const FORM_MAX_BYTES = 1024 * 1024;

export class Form {
  private constructor(private readonly fields: Map<string, string[]>) {}

  static empty(): Form { return new Form(new Map()); }

  /** Null when the body has more fields than FORM_MAX_FIELDS. */
  static parse(body: string): Form | null {
    const fields = new Map<string, string[]>();
    let n = 0;
    for (const [k, v] of new URLSearchParams(body)) {
      if (++n > FORM_MAX_FIELDS) return null;
      const list = fields.get(k);
      if (list) list.push(v); else fields.set(k, [v]);
    }
    return new Form(fields);
  }

  /** The first value of a field, or '' when absent. */
  get(name: string): string {
    return this.fields.get(name)?.[0] ?? '';
  }

  all(name: string): string[] {
    return this.fields.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.fields.has(name);
  }

  names(): string[] {
    return [...this.fields.keys()];
  }
}
