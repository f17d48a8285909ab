/** An independent JSON Schema validator for the subset llmo constrains to, written from the JSON Schema spec (not from our grammar). */
export type Schema = Record<string, unknown>;

export function validates(v: unknown, s: Schema | true): boolean {
  if (s === true) return true;
  if ('const' in s) return JSON.stringify(v) === JSON.stringify(s.const);
  if ('enum' in s) return (s.enum as unknown[]).some((e) => JSON.stringify(e) === JSON.stringify(v));
  if ('anyOf' in s) return (s.anyOf as Schema[]).some((o) => validates(v, o));
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  if (types.length === 0) return true;
  return types.some((t) => {
    switch (t) {
      case 'null': return v === null;
      case 'boolean': return typeof v === 'boolean';
      case 'number': return typeof v === 'number' && Number.isFinite(v);
      case 'integer': return Number.isInteger(v);
      case 'string': {
        if (typeof v !== 'string') return false;
        const n = [...v].length;
        return n >= ((s.minLength as number) ?? 0) && n <= ((s.maxLength as number) ?? Infinity);
      }
      case 'array': {
        if (!Array.isArray(v)) return false;
        if (v.length < ((s.minItems as number) ?? 0) || v.length > ((s.maxItems as number) ?? Infinity)) return false;
        return v.every((x) => validates(x, (s.items as Schema) ?? true));
      }
      case 'object': {
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
        const props = (s.properties ?? {}) as Record<string, Schema>;
        for (const r of (s.required ?? []) as string[]) if (!(r in v)) return false;
        for (const [k, x] of Object.entries(v)) {
          if (k in props) { if (!validates(x, props[k])) return false; }
          else if (s.additionalProperties === false) return false;
          else if (typeof s.additionalProperties === 'object' && !validates(x, s.additionalProperties as Schema)) return false;
        }
        return true;
      }
    }
    return false;
  });
}

